#!/usr/bin/env node
// compare_tokenizers.js — `mrpc-train tokenize` against Hugging Face's own tokenizer.
//
// The reference is the Rust `tokenizers` library (npm package `tokenizers`, the one
// behind transformers' BertTokenizerFast / AutoTokenizer), configured from vocab.txt
// exactly as bert-base-uncased's tokenizer.json (see buildTokenizerJson below), with
// truncation to max_length N, strategy longest_first, as `tokenizer(a, b,
// truncation=True, max_length=N)` and run_glue.py set it. For every TSV file and every
// length, both tokenize every pair and every id must agree.
//
// With --work DIR it also writes DIR/generated.tsv, 2,000 seeded pairs of words of one and
// of several pieces, punctuation and special tokens written in the text ("[SEP]"), and
// compares them at max_length 64, 32, 16, 8 and 5, where the fast tokenizer's first cut
// (each text to max_length at a word boundary) decides which text is the longer one.
//
// Also checks that the comparison can see a difference: with `--truncation
// longest_first_slow` (the slow Python tokenizer's rule) at the smallest length, at
// least one pair of the first file must differ, else the test has no power.
//
// usage: node compare_tokenizers.js --node-modules DIR --mrpc-train BIN --vocab FILE
//            --lengths 128,96,64,32 [--work DIR] FILE.tsv...
// exit 0: identical everywhere; 1: a difference (the first ones printed); 2: usage.
'use strict'

const fs = require('fs')
const path = require('path')
const { spawnSync } = require('child_process')

function die(code, msg) {
  process.stderr.write('compare_tokenizers: ' + msg + '\n')
  process.exit(code)
}

function parseArgs(argv) {
  const a = { files: [] }
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]
    const need = () => {
      if (i + 1 >= argv.length) die(2, k + ' needs a value')
      return argv[++i]
    }
    if (k === '--node-modules') a.nodeModules = need()
    else if (k === '--mrpc-train') a.bin = need()
    else if (k === '--vocab') a.vocab = need()
    else if (k === '--lengths') a.lengths = need().split(',').map((s) => parseInt(s, 10))
    else if (k === '--work') a.work = need()
    else if (k.startsWith('-')) die(2, 'unknown option ' + k)
    else a.files.push(k)
  }
  if (!a.nodeModules || !a.bin || !a.vocab || !a.lengths || a.files.length === 0)
    die(2, 'usage: --node-modules DIR --mrpc-train BIN --vocab FILE --lengths N,N.. FILE.tsv...')
  if (a.lengths.some((n) => !(n >= 3))) die(2, 'every length must be an integer >= 3')
  return a
}

// vocab.txt -> token -> id, as HF's load_vocab (a later duplicate wins). Lines end in \n.
function readVocab(file) {
  const text = fs.readFileSync(file, 'utf8')
  const lines = text.split('\n')
  if (lines.length && lines[lines.length - 1] === '') lines.pop()
  const vocab = {}
  lines.forEach((tok, id) => {
    vocab[tok.replace(/\r$/, '')] = id
  })
  return vocab
}

// The tokenizer.json of bert-base-uncased (and distilbert-base-uncased), built from the vocab.
function buildTokenizerJson(vocab) {
  const special = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']
  for (const s of special) if (!(s in vocab)) die(2, 'vocab lacks ' + s)
  const added = special
    .map((s) => ({
      id: vocab[s],
      content: s,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    }))
    .sort((x, y) => x.id - y.id)
  const tok = (id, type) => ({ SpecialToken: { id, type_id: type } })
  const seq = (id, type) => ({ Sequence: { id, type_id: type } })
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null, // follows lowercase, as do_lower_case=True
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [tok('[CLS]', 0), seq('A', 0), tok('[SEP]', 0)],
      pair: [tok('[CLS]', 0), seq('A', 0), tok('[SEP]', 0), seq('B', 1), tok('[SEP]', 1)],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [vocab['[CLS]']], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [vocab['[SEP]']], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab,
    },
  }
}

// The pairs of an MRPC TSV: optional BOM, a header, five tab-separated fields per line.
function readPairs(file) {
  let text = fs.readFileSync(file, 'utf8')
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
  const lines = text.split('\n')
  while (lines.length && lines[lines.length - 1].replace(/\r$/, '') === '') lines.pop()
  const pairs = []
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i].replace(/\r$/, '').split('\t')
    if (f.length !== 5) die(2, `${file}:${i + 1}: expected 5 fields, got ${f.length}`)
    pairs.push([f[3], f[4], i + 1])
  }
  return pairs
}

// 2,000 pairs from a seeded generator (a 32-bit LCG, so the file is the same everywhere).
function writeGenerated(file) {
  const pool = ['x', 'the', 'a', 'distorting', 'deliberately', 'antidisestablishmentarianism', ',', '.', "don't",
                'café', '中文', '(', ')', 'e-mail', '[SEP]', '[CLS]', '[MASK]', '[UNK]', '[PAD]', '[sep]', 'a[SEP]b',
                'x[MASK]', '[CLS]y', 'Ünïcödé', '3.14']
  let state = 20240611
  const next = (n) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state % n
  }
  const text = () => Array.from({ length: next(31) }, () => pool[next(pool.length)]).join(' ')
  const lines = ['Quality\t#1 ID\t#2 ID\t#1 String\t#2 String']
  for (let i = 0; i < 2000; i++) lines.push(`${i % 2}\t${i}\t${i}\t${text()}\t${text()}`)
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, lines.join('\n') + '\n')
}

function ours(bin, vocab, file, n, truncation) {
  const args = ['tokenize', '--vocab', vocab, '--max-seq-length', String(n)]
  if (truncation) args.push('--truncation', truncation)
  args.push(file)
  const r = spawnSync(bin, args, { encoding: 'utf8', maxBuffer: 1 << 30 })
  if (r.error) die(1, `${bin}: ${r.error.message}`)
  if (r.status !== 0) die(1, `${bin} ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  const out = r.stdout.split('\n')
  if (out[out.length - 1] === '') out.pop()
  return out.map((l) => (l === '' ? [] : l.split(' ').map(Number)))
}

async function theirs(tokenizer, pairs) {
  const ids = []
  const chunk = 512
  for (let i = 0; i < pairs.length; i += chunk) {
    // One encode(a, b) per pair (the package's encodeBatch takes no pairs).
    const enc = await Promise.all(pairs.slice(i, i + chunk).map((p) => tokenizer.encode(p[0], p[1])))
    for (const e of enc) ids.push(Array.from(e.getIds()))
  }
  return ids
}

function same(x, y) {
  if (x.length !== y.length) return false
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false
  return true
}

async function main() {
  const a = parseArgs(process.argv.slice(2))
  const showLimit = parseInt(process.env.MRPC_HF_SHOW || '3', 10) // differing pairs printed per comparison
  let hf
  try {
    hf = require(path.resolve(a.nodeModules, 'tokenizers'))
  } catch (e) {
    die(1, `cannot load the tokenizers package from ${a.nodeModules}: ${e.message}`)
  }
  const version = require(path.resolve(a.nodeModules, 'tokenizers', 'package.json')).version
  const vocab = readVocab(a.vocab)
  const json = JSON.stringify(buildTokenizerJson(vocab))

  let failures = 0
  let compared = 0
  const t0 = Date.now()
  const jobs = a.files.map((file) => [file, a.lengths])
  if (a.work) {
    const gen = path.join(a.work, 'generated.tsv')
    writeGenerated(gen)
    jobs.push([gen, [64, 32, 16, 8, 5]])
  }
  for (const [file, lengths] of jobs) {
    const pairs = readPairs(file)
    for (const n of lengths) {
      const tokenizer = hf.Tokenizer.fromString(json)
      tokenizer.setTruncation(n, { strategy: hf.TruncationStrategy.LongestFirst })
      const want = await theirs(tokenizer, pairs)
      const got = ours(a.bin, a.vocab, file, n, 'longest_first')
      if (got.length !== want.length) {
        console.log(`FAIL ${file} @${n}: ${got.length} lines from mrpc-train, ${want.length} pairs`)
        failures++
        continue
      }
      let bad = 0
      let truncated = 0
      for (let i = 0; i < want.length; i++) {
        if (want[i].length === n) truncated++
        if (same(got[i], want[i])) continue
        if (bad < showLimit) {
          console.log(`  ${path.basename(file)}:${pairs[i][2]} @${n}:\n    hf:   ${want[i].join(' ')}\n` +
                      `    ours: ${got[i].join(' ')}`)
        }
        bad++
      }
      compared += want.length
      console.log(`${bad ? 'FAIL' : 'ok  '} ${path.basename(file)} max_length ${n}: ${want.length} pairs ` +
                  `(${truncated} at the limit), ${bad} differ`)
      if (bad) failures++
    }
  }

  // Power check: the slow tokenizer's rule must differ from the fast one somewhere.
  const n = Math.min(...a.lengths)
  const pairs = readPairs(a.files[0])
  const tokenizer = hf.Tokenizer.fromString(json)
  tokenizer.setTruncation(n, { strategy: hf.TruncationStrategy.LongestFirst })
  const want = await theirs(tokenizer, pairs)
  const slow = ours(a.bin, a.vocab, a.files[0], n, 'longest_first_slow')
  let differ = 0
  for (let i = 0; i < want.length; i++) if (!same(slow[i], want[i])) differ++
  console.log(`${differ ? 'ok  ' : 'FAIL'} power: --truncation longest_first_slow differs from HF on ` +
              `${differ} of ${want.length} pairs of ${path.basename(a.files[0])} at ${n}`)
  if (!differ) failures++

  console.log(`tokenizers ${version}: ${compared} encodings compared in ${((Date.now() - t0) / 1000).toFixed(1)} s, ` +
              `${failures} failing comparison(s)`)
  process.exit(failures ? 1 : 0)
}

main().catch((e) => die(1, e.stack || String(e)))
