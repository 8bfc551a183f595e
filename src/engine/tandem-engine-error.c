/* tandem-engine-error.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "tandem-engine-error.h"

G_DEFINE_QUARK (tandem-engine-error-quark, tandem_engine_error)
