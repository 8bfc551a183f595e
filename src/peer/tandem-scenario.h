/* tandem-scenario.h: scripted multi-peer scenarios with expected results
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Runs one scenario file (format: scenarios/FORMAT.md) once as written and
 * then @shuffle more times with a randomized final delivery; appends one
 * line per failure or "ok NAME" to @out. Returns FALSE if anything failed
 * or the file was refused. */
gboolean tandem_scenario_run_file (const char *path,
                                   guint       shuffle,
                                   guint64     seed,
                                   GString    *out);

G_END_DECLS
