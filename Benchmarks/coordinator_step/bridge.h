#include <cblas.h>
#include "../../Sources/DescentKernels/include/DescentAveraging.h"
#include "../../Sources/DescentKernels/include/DescentKernels.h"
