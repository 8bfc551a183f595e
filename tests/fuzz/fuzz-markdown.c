/* fuzz-markdown.c: Markdown import
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The input is a file given to `tandem-peer import`. Refused or taken,
 * with a reason when refused; a note taken must export to a file that
 * imports as the same note (the export of that import is the same file).
 */
#include <string.h>

#include "fuzz-common.h"
#include "tandem-markdown.h"

/* the policies tandem-peer and the app give every note */
static TandemNote *
new_note (void)
{
  TandemNote *note = tandem_note_new (1);

  tandem_note_set_field_policy (note, "title", TANDEM_FIELD_POLICY_MANUAL);
  tandem_note_set_field_policy (note, "tags", TANDEM_FIELD_POLICY_SET);
  return note;
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr(TandemNote) note = new_note ();
  g_autoptr(TandemNote) again = new_note ();
  g_autoptr(GError) error = NULL;
  g_autofree char *exported = NULL;
  g_autofree char *exported_again = NULL;
  g_autofree char *file_name = NULL;
  gboolean ok = tandem_markdown_to_note (note, (const char *) data, (gssize) size, &error);

  fuzz_check (ok != (error != NULL), "an import neither succeeded nor failed with a reason");
  if (!ok)
    return 0;

  exported = tandem_markdown_from_note (note, "00112233445566778899aabbccddeeff");
  fuzz_check (g_utf8_validate (exported, -1, NULL), "the export is not UTF-8");
  file_name = tandem_markdown_file_name (note, "00112233445566778899aabbccddeeff");
  fuzz_check (strchr (file_name, '/') == NULL && file_name[0] != '.' && g_utf8_validate (file_name, -1, NULL),
              "an unsafe file name: %s", file_name);

  fuzz_check (tandem_markdown_to_note (again, exported, -1, &error),
              "an exported note was refused: %s\n%s", error ? error->message : "", exported);
  exported_again = tandem_markdown_from_note (again, "00112233445566778899aabbccddeeff");
  fuzz_check (g_str_equal (exported, exported_again), "a note changed on its way out and back in:\n%s\n----\n%s",
              exported, exported_again);
  return 0;
}
