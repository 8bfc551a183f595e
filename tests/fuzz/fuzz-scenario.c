/* fuzz-scenario.c: the scenario loader of `tandem-peer scenario`
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The input is a scenario file, run once as written and once with a
 * shuffled final delivery. A scenario may fail (its expectations are the
 * input's), but it must fail with a line that says so, never crash or
 * complain to the log.
 */
#include <string.h>

#include "fuzz-common.h"
#include "tandem-scenario.h"

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autofree char *path = NULL;
  g_autoptr(GString) out = g_string_new (NULL);
  gboolean ok;

  /* A restart opens a real SQLite profile, with its fsyncs: thousands of
   * times slower than the rest, and the store has tests of its own. */
  if (g_strstr_len ((const char *) data, (gssize) size, "restart") != NULL)
    return 0;

  path = fuzz_write_file (data, size, "scenario.json");
  ok = tandem_scenario_run_file (path, 1, 7, out);
  fuzz_check (ok ? g_str_has_prefix (out->str, "ok ") : strstr (out->str, "FAIL ") != NULL,
              "a scenario %s with \"%s\"", ok ? "passed" : "failed", out->str);
  fuzz_check (g_utf8_validate (out->str, -1, NULL), "the report is not UTF-8: %s", out->str);
  return 0;
}
