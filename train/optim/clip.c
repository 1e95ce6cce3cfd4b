/* clip.c — gradient clipping coefficient (see clip.h). */
#include "clip.h"

#include <math.h>

double mrpc_clip_coef(double total_norm, double max_norm) {
    if (!(max_norm > 0.0) || !isfinite(total_norm)) {
        return 1.0;
    }
    double coef = max_norm / (total_norm + 1e-6);
    return coef < 1.0 ? coef : 1.0;
}
