/* plots.c — PLplot streams writing PNG and SVG, palette, legend and colour bar (see plots.h). */
#define _POSIX_C_SOURCE 200809L
#include "plots.h"

#include <math.h>
#include <plplot.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Foreground palette: a colour-blind-safe set (Okabe-Ito blue/orange/green/vermillion/purple). */
static const unsigned char palette[MRPC_PLOT_COLOR_COUNT][3] = {
    {255, 255, 255}, /* BG */
    {25, 25, 25},    /* BLACK */
    {110, 110, 110}, /* GREY */
    {200, 200, 200}, /* LIGHTGREY */
    {0, 114, 178},   /* BLUE */
    {230, 159, 0},   /* ORANGE */
    {0, 158, 115},   /* GREEN */
    {213, 94, 0},    /* RED (vermillion) */
    {204, 121, 167}, /* PURPLE */
    {234, 234, 234}, /* BAND */
    {210, 210, 210}, /* BAND_INNER */
    {160, 200, 228}, /* PALE_BLUE */
    {245, 210, 150}, /* PALE_ORANGE */
    {255, 255, 255}, /* WHITE */
    {33, 145, 140},  /* MAP_MID */
    {68, 1, 84},     /* MAP_TOP */
};

/* Reversed viridis, cut before its last yellow so the lightest end still shows on white. */
static void set_cmap1(void) {
    PLFLT pos[5] = {0.0, 0.25, 0.5, 0.75, 1.0};
    PLFLT r[5] = {181 / 255.0, 94 / 255.0, 33 / 255.0, 59 / 255.0, 68 / 255.0};
    PLFLT g[5] = {222 / 255.0, 201 / 255.0, 145 / 255.0, 82 / 255.0, 1 / 255.0};
    PLFLT b[5] = {43 / 255.0, 98 / 255.0, 140 / 255.0, 139 / 255.0, 84 / 255.0};
    plscmap1n(256);
    plscmap1l(1, 5, pos, r, g, b, NULL);
}

static void set_palette(void) {
    PLINT r[MRPC_PLOT_COLOR_COUNT], g[MRPC_PLOT_COLOR_COUNT], b[MRPC_PLOT_COLOR_COUNT];
    for (int i = 0; i < MRPC_PLOT_COLOR_COUNT; i++) {
        r[i] = palette[i][0];
        g[i] = palette[i][1];
        b[i] = palette[i][2];
    }
    plscmap0(r, g, b, MRPC_PLOT_COLOR_COUNT);
    set_cmap1();
}

/* 1 when this PLplot has the output device `name` (the cairo ones are a separate Debian package). */
static int have_device(const char *name) {
    const char *menu_space[256], *dev_space[256];
    const char **menu = menu_space, **devs = dev_space;
    int n = 256; /* capacity in, count out */
    plgDevs(&menu, &devs, &n);
    for (int i = 0; i < n && i < 256; i++)
        if (devs[i] && strcmp(devs[i], name) == 0) return 1;
    return 0;
}

static mrpc_status draw_one(const char *device, const char *path, int width, int height, mrpc_plot_draw_fn draw,
                            void *ctx, mrpc_error *err) {
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp)
        return mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, NULL, "path too long");
    /* Without the device PLplot would ask on stdin for another one: check first. */
    if (!have_device(device))
        return mrpc_error_set(err, MRPC_ERR_UNSUPPORTED, path, 0, 0, NULL,
                              "PLplot has no \"%s\" device (apt-get install plplot-driver-cairo)", device);
    /* PLplot exits the process when it cannot open its output: check first. */
    FILE *f = fopen(tmp, "wb");
    if (!f) return mrpc_error_set(err, MRPC_ERR_IO, tmp, 0, 0, NULL, "cannot create the figure file");
    fclose(f);
    PLINT strm = -1;
    plmkstrm(&strm);
    if (strm < 0) {
        remove(tmp);
        return mrpc_error_set(err, MRPC_ERR_INTERNAL, path, 0, 0, NULL, "PLplot has no free stream");
    }
    plsdev(device);
    plsfnam(tmp);
    plspage(0, 0, width, height, 0, 0);
    set_palette();
    plinit();
    plfontld(1);
    draw(ctx);
    plend1();
    if (rename(tmp, path) != 0) {
        remove(tmp);
        return mrpc_error_set(err, MRPC_ERR_IO, path, 0, 0, NULL, "cannot rename the finished figure into place");
    }
    return MRPC_OK;
}

mrpc_status mrpc_plot_write(const char *dir, const char *name, int width, int height, mrpc_plot_draw_fn draw,
                            void *ctx, mrpc_error *err) {
    char png[4096], svg[4096];
    if ((size_t)snprintf(png, sizeof png, "%s/%s.png", dir, name) >= sizeof png ||
        (size_t)snprintf(svg, sizeof svg, "%s/%s.svg", dir, name) >= sizeof svg)
        return mrpc_error_set(err, MRPC_ERR_INVALID, dir, 0, 0, NULL, "figure path too long");
    mrpc_status st = draw_one("pngcairo", png, width, height, draw, ctx, err);
    if (st == MRPC_OK) st = draw_one("svgcairo", svg, width, height, draw, ctx, err);
    if (st != MRPC_OK) {
        remove(png);
        remove(svg);
    }
    return st;
}

void mrpc_plot_text(char *dst, size_t size, const char *src) {
    if (size == 0) return;
    size_t o = 0;
    for (const char *p = src ? src : ""; *p && o + 1 < size; p++) {
        if (*p == '#') {
            if (o + 2 >= size) break;
            dst[o++] = '#';
        }
        dst[o++] = *p;
    }
    dst[o] = '\0';
}

/* Estimated width of `text` in page fraction at the current character height. */
static double text_width(const char *text, double ch_mm, double page_w_mm) {
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) n += (*p & 0xC0) != 0x80; /* UTF-8 code points */
    return (double)n * 0.7 * ch_mm / page_w_mm;
}

void mrpc_plot_legend(double x, double y, const mrpc_plot_legend_entry *entries, size_t n, size_t n_cols) {
    PLFLT vx0, vx1, vy0, vy1, wx0, wx1, wy0, wy1;
    plgvpd(&vx0, &vx1, &vy0, &vy1);
    plgvpw(&wx0, &wx1, &wy0, &wy1);
    PLFLT ch_def, ch, px0, px1, py0, py1;
    plgchr(&ch_def, &ch);
    plgspa(&px0, &px1, &py0, &py1);
    double pw = px1 - px0, ph = py1 - py0;
    plvpor(0, 1, 0, 1);
    plwind(0, 1, 0, 1);
    double dy = 1.7 * ch / ph, seg = 6.0 * ch / pw, gap = 1.0 * ch / pw, pad = 0.8 * ch / pw;
    if (n > 32) n = 32;
    if (n_cols == 0) n_cols = 1;
    if (n_cols > n) n_cols = n ? n : 1;
    size_t n_rows = (n + n_cols - 1) / n_cols;
    /* Column widths: the widest entry of each column. */
    double col_w[32] = {0}, total = 0;
    for (size_t i = 0; i < n; i++) {
        double w = seg + gap + text_width(entries[i].label, ch, pw);
        if (w > col_w[i % n_cols]) col_w[i % n_cols] = w;
    }
    for (size_t c = 0; c < n_cols; c++) total += col_w[c] + (c ? 3 * gap : 0);
    double box_w = total + 2 * pad, box_h = (double)n_rows * dy + 0.5 * dy;
    PLFLT bx[5] = {x, x + box_w, x + box_w, x, x}, by[5] = {y, y, y - box_h, y - box_h, y};
    plcol0(MRPC_PLOT_BG);
    plfill(4, bx, by);
    plcol0(MRPC_PLOT_LIGHTGREY);
    plwidth(1);
    plline(5, bx, by);
    for (size_t i = 0; i < n; i++) {
        const mrpc_plot_legend_entry *e = &entries[i];
        size_t col = i % n_cols, row = i / n_cols;
        double ex = x + pad;
        for (size_t c = 0; c < col; c++) ex += col_w[c] + 3 * gap;
        double yy = y - 0.25 * dy - dy * ((double)row + 0.5);
        plcol0(e->color);
        if (e->fill) {
            PLFLT fx[4] = {ex, ex + seg, ex + seg, ex}, fy[4] = {yy - 0.3 * dy, yy - 0.3 * dy, yy + 0.3 * dy, yy + 0.3 * dy};
            plfill(4, fx, fy);
        } else if (e->style > 0) {
            pllsty(e->style);
            plwidth(e->width > 0 ? e->width : 1);
            PLFLT lx[2] = {ex, ex + seg}, ly[2] = {yy, yy};
            plline(2, lx, ly);
            pllsty(1);
            plwidth(1);
        }
        if (e->symbol) {
            PLFLT sx = ex + seg / 2, sy = yy;
            plpoin(1, &sx, &sy, e->symbol);
        }
        char text[256];
        mrpc_plot_text(text, sizeof text, e->label);
        plcol0(MRPC_PLOT_BLACK);
        plptex(ex + seg + gap, yy, 1, 0, 0, text);
    }
    plcol0(MRPC_PLOT_BLACK);
    plvpor(vx0, vx1, vy0, vy1);
    plwind(wx0, wx1, wy0, wy1);
}

size_t mrpc_plot_nice_ticks(double lo, double hi, int log_axis, double *ticks, size_t cap) {
    size_t n = 0;
    if (!(hi > lo) || cap == 0) return 0;
    if (log_axis && lo > 0 && hi / lo >= 10.0) {
        static const double mult[3][3] = {{1, 0, 0}, {1, 3, 0}, {1, 2, 5}};
        for (int m = 0; m < 3; m++) {
            n = 0;
            for (int e = (int)floor(log10(lo)) - 1; e <= (int)ceil(log10(hi)) + 1 && n < cap; e++)
                for (int k = 0; k < 3 && mult[m][k] > 0 && n < cap; k++) {
                    double v = mult[m][k] * pow(10.0, e);
                    if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) ticks[n++] = v;
                }
            if (n >= 3) break;
        }
        return n;
    }
    static const double steps[3] = {1, 2, 5};
    double span = hi - lo;
    for (int e = (int)floor(log10(span)) + 1; e >= (int)floor(log10(span)) - 2; e--)
        for (int k = 2; k >= 0; k--) {
            double step = steps[k] * pow(10.0, e);
            double first = ceil(lo / step - 1e-9) * step;
            size_t cnt = 0;
            for (double v = first; v <= hi + 1e-9 * step && cnt < 64; v += step) cnt++;
            if (cnt >= 3) {
                n = 0;
                for (double v = first; v <= hi + 1e-9 * step && n < cap; v += step) ticks[n++] = fabs(v) < 1e-12 * step ? 0 : v;
                if (cnt <= 7) return n;
            }
        }
    return n;
}

void mrpc_plot_colorbar(double x0, double x1, double y0, double y1, double vmin, double vmax, const char *label) {
    plvpor(x0, x1, y0, y1);
    if (!(vmax > vmin)) {
        vmin -= 0.5;
        vmax += 0.5;
    }
    plwind(0, 1, vmin, vmax);
    const int steps = 128;
    for (int k = 0; k < steps; k++) {
        double a = vmin + (vmax - vmin) * k / steps, b = vmin + (vmax - vmin) * (k + 1) / steps;
        plcol1((double)k / (steps - 1));
        PLFLT fx[4] = {0, 1, 1, 0}, fy[4] = {a, a, b, b};
        plfill(4, fx, fy);
    }
    plcol0(MRPC_PLOT_BLACK);
    plbox("bc", 0, 0, "bcmstv", 0, 0);
    char text[256];
    mrpc_plot_text(text, sizeof text, label);
    plmtex("r", 4.2, 0.5, 0.5, text);
}

void mrpc_plot_rect(double x0, double y0, double x1, double y1, int color) {
    PLFLT fx[4] = {x0, x1, x1, x0}, fy[4] = {y0, y0, y1, y1};
    plcol0(color);
    plfill(4, fx, fy);
}
