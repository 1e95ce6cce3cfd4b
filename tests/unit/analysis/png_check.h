/* png_check.h — looks inside a PNG for the analysis tests: header, size, and whether the picture
 * has content (decoded with cairo): distinct colours, share of non-background pixels. */
#ifndef MRPC_TEST_PNG_CHECK_H
#define MRPC_TEST_PNG_CHECK_H

#include <stddef.h>
#include <stdint.h>

typedef struct png_facts {
    int      magic_ok;        /* starts with the 8-byte PNG signature and an IHDR chunk */
    uint32_t width, height;   /* from IHDR */
    int      decoded;         /* cairo read the whole image */
    size_t   distinct;        /* distinct RGB colours (counting stops at 65536) */
    double   nonwhite;        /* share of pixels that are not near-white */
    uint32_t corner;          /* RGB of the top-left pixel */
} png_facts;

/* Fills `out` for the file at `path`; returns 1 when the file could be read at all. */
int png_inspect(const char *path, png_facts *out);

#endif
