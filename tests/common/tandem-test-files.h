/* tandem-test-files.h: temporary folders for the C tests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

void tandem_test_rm_rf (const char *path);

G_END_DECLS
