/* test_analyze_report_chromium.c — the HTML report renders: mrpc-analyze on the synthetic study,
 * then Debian's chromium takes a headless screenshot of report.html (offline, fresh profile),
 * which must exist with the requested size and hold a real page (many colours, text and
 * figures drawn, white background). Exits 77 when chromium is not installed.
 *
 * argv[1]: the mrpc-analyze binary. The screenshot stays in the test's scratch directory. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "png_check.h"
#include "run_python.h"
#include "synth_study.h"
#include "testutil.h"

static const char *find_chromium(void) {
    static const char *paths[] = {"/usr/bin/chromium", "/usr/bin/chromium-browser"};
    for (size_t k = 0; k < 2; k++)
        if (access(paths[k], X_OK) == 0) return paths[k];
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: test_analyze_report_chromium MRPC_ANALYZE\n");
        return 2;
    }
    const char *chromium = find_chromium();
    if (!chromium) mrpc_test_skip("chromium is not installed (apt-get install chromium)");
    const char *tmp = mrpc_test_tmpdir();
    char study[2048], out[2048], cmd[16384], shot[2048], profile[2048], log[2048];
    snprintf(study, sizeof study, "%s/study", tmp);
    snprintf(out, sizeof out, "%s/out", tmp);
    snprintf(shot, sizeof shot, "%s/report.png", tmp);
    snprintf(profile, sizeof profile, "%s/chromium-profile", tmp);
    snprintf(log, sizeof log, "%s/chromium.log", tmp);
    synth_info info;
    mrpc_error err = {0};
    if (!CHECK_OK(synth_study_write(study, &info, &err), &err)) return mrpc_test_report();
    snprintf(cmd, sizeof cmd, "'%s' '%s' --out '%s' --quiet", argv[1], study, out);
    if (!CHECK(run_shell(cmd) == 0, "mrpc-analyze wrote the report")) return mrpc_test_report();

    const int W = 1280, H = 2000;
    snprintf(cmd, sizeof cmd,
             "timeout 120 '%s' --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking "
             "--disable-component-update --disable-sync --user-data-dir='%s' --screenshot='%s' --window-size=%d,%d "
             "'file://%s/report.html' >'%s' 2>&1",
             chromium, profile, shot, W, H, out, log);
    int rc = run_shell(cmd);
    CHECK(rc == 0, "chromium exited %d (log %s)", rc, log);
    png_facts f;
    if (CHECK(png_inspect(shot, &f), "screenshot %s exists", shot)) {
        CHECK(f.magic_ok && f.decoded, "the screenshot is a PNG");
        CHECK(f.width == (uint32_t)W && f.height == (uint32_t)H, "screenshot %ux%u, asked for %dx%d", f.width, f.height, W, H);
        CHECK(f.corner == 0xFFFFFF, "white page background (corner %06x)", f.corner);
        CHECK(f.distinct >= 500, "%zu distinct colours: text, tables and figures rendered", f.distinct);
        CHECK(f.nonwhite > 0.05 && f.nonwhite < 0.9, "%.1f%% of the page is drawn", 100 * f.nonwhite);
    }
    printf("screenshot: %s\n", shot);
    return mrpc_test_report();
}
