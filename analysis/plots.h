/*
 * plots.h — a thin layer over PLplot (Debian libplplot + the cairo driver) that every
 * figure of the report goes through.
 *
 * mrpc_plot_write draws one figure twice, once on the "pngcairo" device and once on
 * "svgcairo", into <dir>/<name>.png and <dir>/<name>.svg. Each copy is drawn into a
 * temporary file that is renamed into place only when PLplot has finished it. The
 * stream gets a light palette (PLplot's default is white on black): colour 0 is the
 * white background, the MRPC_PLOT_* indices below are the foreground colours, and
 * cmap1 is a light-to-dark sequential map (reversed viridis) for "coloured by
 * accuracy".
 *
 * Text handed to PLplot must go through mrpc_plot_text: '#' starts PLplot escape
 * sequences, so strings from run records are escaped.
 *
 *     static void draw(void *ctx) { plenv(0, 1, 0, 1, 0, 0); ... }
 *     mrpc_plot_write("out/figures", "effects", 1000, 600, draw, &data, &err);
 */
#ifndef MRPC_ANALYSIS_PLOTS_H
#define MRPC_ANALYSIS_PLOTS_H

#include <stddef.h>

#include "status.h"

/* cmap0 indices set by mrpc_plot_write. */
enum {
    MRPC_PLOT_BG = 0,     /* white background */
    MRPC_PLOT_BLACK,      /* axes and text */
    MRPC_PLOT_GREY,       /* secondary text, reference lines */
    MRPC_PLOT_LIGHTGREY,  /* grid lines, failed runs */
    MRPC_PLOT_BLUE,
    MRPC_PLOT_ORANGE,
    MRPC_PLOT_GREEN,
    MRPC_PLOT_RED,
    MRPC_PLOT_PURPLE,
    MRPC_PLOT_BAND,       /* noise band, outer */
    MRPC_PLOT_BAND_INNER, /* noise band, inner */
    MRPC_PLOT_PALE_BLUE,  /* raw (unsmoothed) series */
    MRPC_PLOT_PALE_ORANGE,
    MRPC_PLOT_WHITE,      /* text on dark cells */
    MRPC_PLOT_MAP_MID,    /* the middle of cmap1, for legends */
    MRPC_PLOT_MAP_TOP,    /* the dark end of cmap1 (best), for legends */
    MRPC_PLOT_COLOR_COUNT
};

typedef void (*mrpc_plot_draw_fn)(void *ctx);

/*
 * Draws `draw(ctx)` on a width x height pixel page to <dir>/<name>.png and
 * <dir>/<name>.svg. Fails with MRPC_ERR_IO (naming the file) when a file cannot be
 * created; nothing is left at the final paths then.
 */
mrpc_status mrpc_plot_write(const char *dir, const char *name, int width, int height, mrpc_plot_draw_fn draw,
                            void *ctx, mrpc_error *err);

/* Copies `src` into dst (capacity size) with PLplot's escape character '#' doubled. */
void mrpc_plot_text(char *dst, size_t size, const char *src);

/* One entry of a legend drawn by mrpc_plot_legend. */
typedef struct mrpc_plot_legend_entry {
    const char *label;  /* plain text (escaped by the legend) */
    int         color;  /* cmap0 index */
    int         style;  /* PLplot line style 1..8; 0 = no line */
    double      width;  /* line width */
    int         symbol; /* Hershey symbol for plpoin-like marks via plstring, 0 = none */
    int         fill;   /* 1: a filled box instead of a line */
} mrpc_plot_legend_entry;

/*
 * Draws a legend box with its top-left corner at (x, y) in page coordinates ([0, 1]
 * each way, origin bottom left), so no viewport clips it. Entries fill `n_cols`
 * columns row by row (1: one entry per line; n: all on one line). Restores the
 * viewport and window it found.
 */
void mrpc_plot_legend(double x, double y, const mrpc_plot_legend_entry *entries, size_t n, size_t n_cols);

/*
 * Chooses "nice" tick values for an axis from lo to hi (lo < hi): multiples of 1, 2 or
 * 5 times a power of ten, 3 to 7 of them, inside the range; on a log axis (lo > 0)
 * spanning at least a decade, the powers of ten (with 2 and 5 times them when there
 * are few). Writes at most `cap` values to ticks and returns how many.
 */
size_t mrpc_plot_nice_ticks(double lo, double hi, int log_axis, double *ticks, size_t cap);

/*
 * Draws a vertical colour bar of cmap1 in the page area (x0..x1, y0..y1), in
 * normalized page coordinates, with vmin..vmax ticks on its right and `label` written
 * vertically beside them.
 */
void mrpc_plot_colorbar(double x0, double x1, double y0, double y1, double vmin, double vmax, const char *label);

/* Fills the rectangle (x0, y0)-(x1, y1) in world coordinates with cmap0 colour `color`. */
void mrpc_plot_rect(double x0, double y0, double x1, double y1, int color);

#endif /* MRPC_ANALYSIS_PLOTS_H */
