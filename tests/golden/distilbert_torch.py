"""distilbert_torch.py — DistilBertForSequenceClassification in plain PyTorch.

Written from the HF modeling_distilbert.py semantics (transformers 4.2x, eager attention),
without importing transformers, so the golden test and the step benchmark depend only on
torch. Module and parameter names equal HF's, so state_dict() keys are the HF tensor names
(distilbert.embeddings.word_embeddings.weight, ..., pre_classifier.weight, classifier.bias).

Semantics (see /work/shared/docs/distilbert-mrpc-facts.md sections 2-3):
  embeddings: word[ids] + position[0..T-1] -> LayerNorm(eps 1e-12) -> dropout(dropout)
  block (post-LN): q,k,v linear; q /= sqrt(dh); scores = q k^T; keys with mask 0 filled with
  finfo.min; softmax; dropout(attention_dropout); ctx = w v; out_lin (no dropout);
  sa_layer_norm(sa + x); lin1 -> erf GELU -> lin2 -> dropout(dropout); output_layer_norm(f + x1)
  head: h[:, 0] -> pre_classifier -> ReLU -> dropout(seq_classif_dropout) -> classifier
  loss: CrossEntropyLoss (mean over the batch)
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Config:
    def __init__(self, vocab_size=30522, max_position_embeddings=512, dim=768, n_layers=6,
                 n_heads=12, hidden_dim=3072, dropout=0.1, attention_dropout=0.1,
                 seq_classif_dropout=0.2, initializer_range=0.02, pad_token_id=0, num_labels=2):
        self.vocab_size = vocab_size
        self.max_position_embeddings = max_position_embeddings
        self.dim = dim
        self.n_layers = n_layers
        self.n_heads = n_heads
        self.hidden_dim = hidden_dim
        self.dropout = dropout
        self.attention_dropout = attention_dropout
        self.seq_classif_dropout = seq_classif_dropout
        self.initializer_range = initializer_range
        self.pad_token_id = pad_token_id
        self.num_labels = num_labels

    def to_hf_json(self):
        return {
            "activation": "gelu",
            "architectures": ["DistilBertForSequenceClassification"],
            "attention_dropout": self.attention_dropout,
            "dim": self.dim,
            "dropout": self.dropout,
            "hidden_dim": self.hidden_dim,
            "initializer_range": self.initializer_range,
            "max_position_embeddings": self.max_position_embeddings,
            "model_type": "distilbert",
            "n_heads": self.n_heads,
            "n_layers": self.n_layers,
            "pad_token_id": self.pad_token_id,
            "qa_dropout": 0.1,
            "seq_classif_dropout": self.seq_classif_dropout,
            "sinusoidal_pos_embds": False,
            "tie_weights_": True,
            "vocab_size": self.vocab_size,
            "id2label": {str(i): "LABEL_%d" % i for i in range(self.num_labels)},
            "label2id": {"LABEL_%d" % i: i for i in range(self.num_labels)},
        }


class Embeddings(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.word_embeddings = nn.Embedding(cfg.vocab_size, cfg.dim, padding_idx=cfg.pad_token_id)
        self.position_embeddings = nn.Embedding(cfg.max_position_embeddings, cfg.dim)
        self.LayerNorm = nn.LayerNorm(cfg.dim, eps=1e-12)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, input_ids):
        T = input_ids.size(1)
        pos = torch.arange(T, dtype=torch.long, device=input_ids.device)
        e = self.word_embeddings(input_ids) + self.position_embeddings(pos).unsqueeze(0)
        return self.dropout(self.LayerNorm(e))


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.n_heads = cfg.n_heads
        self.dim = cfg.dim
        self.q_lin = nn.Linear(cfg.dim, cfg.dim)
        self.k_lin = nn.Linear(cfg.dim, cfg.dim)
        self.v_lin = nn.Linear(cfg.dim, cfg.dim)
        self.out_lin = nn.Linear(cfg.dim, cfg.dim)
        self.dropout = nn.Dropout(cfg.attention_dropout)

    def forward(self, x, mask):
        B, T, C = x.shape
        H = self.n_heads
        dh = C // H

        def shape(t):
            return t.view(B, T, H, dh).transpose(1, 2)

        q = shape(self.q_lin(x))
        k = shape(self.k_lin(x))
        v = shape(self.v_lin(x))
        q = q / math.sqrt(dh)
        scores = torch.matmul(q, k.transpose(2, 3))            # [B, H, T, T]
        key_pad = (mask == 0).view(B, 1, 1, T).expand_as(scores)
        scores = scores.masked_fill(key_pad, torch.tensor(torch.finfo(scores.dtype).min))
        w = F.softmax(scores, dim=-1)
        w = self.dropout(w)
        ctx = torch.matmul(w, v)                                # [B, H, T, dh]
        ctx = ctx.transpose(1, 2).contiguous().view(B, T, C)
        return self.out_lin(ctx)


class FFN(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.lin1 = nn.Linear(cfg.dim, cfg.hidden_dim)
        self.lin2 = nn.Linear(cfg.hidden_dim, cfg.dim)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x):
        return self.dropout(self.lin2(F.gelu(self.lin1(x))))


class TransformerBlock(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.attention = MultiHeadSelfAttention(cfg)
        self.sa_layer_norm = nn.LayerNorm(cfg.dim, eps=1e-12)
        self.ffn = FFN(cfg)
        self.output_layer_norm = nn.LayerNorm(cfg.dim, eps=1e-12)

    def forward(self, x, mask):
        sa = self.sa_layer_norm(self.attention(x, mask) + x)
        return self.output_layer_norm(self.ffn(sa) + sa)


class Transformer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layer = nn.ModuleList([TransformerBlock(cfg) for _ in range(cfg.n_layers)])

    def forward(self, x, mask):
        for blk in self.layer:
            x = blk(x, mask)
        return x


class DistilBertModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embeddings = Embeddings(cfg)
        self.transformer = Transformer(cfg)

    def forward(self, input_ids, attention_mask):
        return self.transformer(self.embeddings(input_ids), attention_mask)


class DistilBertForSequenceClassification(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.distilbert = DistilBertModel(cfg)
        self.pre_classifier = nn.Linear(cfg.dim, cfg.dim)
        self.classifier = nn.Linear(cfg.dim, cfg.num_labels)
        self.dropout = nn.Dropout(cfg.seq_classif_dropout)

    def init_weights(self, generator=None):
        """HF DistilBertPreTrainedModel._init_weights."""
        r = self.cfg.initializer_range
        for m in self.modules():
            if isinstance(m, nn.Linear):
                with torch.no_grad():
                    m.weight.normal_(0.0, r, generator=generator)
                    m.bias.zero_()
            elif isinstance(m, nn.Embedding):
                with torch.no_grad():
                    m.weight.normal_(0.0, r, generator=generator)
                    if m.padding_idx is not None:
                        m.weight[m.padding_idx].zero_()
            elif isinstance(m, nn.LayerNorm):
                with torch.no_grad():
                    m.weight.fill_(1.0)
                    m.bias.zero_()

    def forward(self, input_ids, attention_mask, labels=None):
        h = self.distilbert(input_ids, attention_mask)[:, 0]   # [B, dim]
        h = F.relu(self.pre_classifier(h))
        h = self.dropout(h)
        logits = self.classifier(h)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.view(-1, self.cfg.num_labels), labels.view(-1))
        return loss, logits


def hf_param_groups(model, weight_decay):
    """HF Trainer grouping: no decay for biases and LayerNorm weights; embeddings decayed."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if name.endswith(".bias") or "LayerNorm" in name or "layer_norm" in name:
            no_decay.append(p)
        else:
            decay.append(p)
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


def linear_warmup_lambda(warmup, total):
    """get_linear_schedule_with_warmup's multiplier."""
    def f(s):
        if s < warmup:
            return float(s) / float(max(1, warmup))
        return max(0.0, float(total - s) / float(max(1, total - warmup)))
    return f
