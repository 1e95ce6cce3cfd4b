/* png_check.c — see png_check.h. */
#include "png_check.h"

#include <cairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int png_inspect(const char *path, png_facts *out) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    unsigned char head[24];
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    out->magic_ok = n == sizeof head && memcmp(head, sig, 8) == 0 && memcmp(head + 12, "IHDR", 4) == 0;
    if (out->magic_ok) {
        out->width = be32(head + 16);
        out->height = be32(head + 20);
    }
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    if (cairo_surface_status(s) == CAIRO_STATUS_SUCCESS) {
        int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
        int stride = cairo_image_surface_get_stride(s);
        const unsigned char *data = cairo_image_surface_get_data(s);
        out->decoded = w > 0 && h > 0 && data != NULL;
        enum { SLOTS = 1 << 17 };
        uint32_t *set = calloc(SLOTS, sizeof *set); /* open addressing; 0 = empty, colours stored +1 */
        size_t nonwhite = 0;
        for (int y = 0; out->decoded && set && y < h; y++) {
            const uint32_t *row = (const uint32_t *)(data + (size_t)y * (size_t)stride);
            for (int x = 0; x < w; x++) {
                uint32_t rgb = row[x] & 0xFFFFFFu;
                if (x == 0 && y == 0) out->corner = rgb;
                unsigned r = rgb >> 16, g = (rgb >> 8) & 255, b = rgb & 255;
                if (r < 235 || g < 235 || b < 235) nonwhite++;
                if (out->distinct >= 65536) continue;
                uint32_t k = (rgb * 2654435761u) & (SLOTS - 1);
                while (set[k] && set[k] != rgb + 1) k = (k + 1) & (SLOTS - 1);
                if (!set[k]) {
                    set[k] = rgb + 1;
                    out->distinct++;
                }
            }
        }
        if (out->decoded) out->nonwhite = (double)nonwhite / ((double)w * (double)h);
        free(set);
    }
    cairo_surface_destroy(s);
    return 1;
}
