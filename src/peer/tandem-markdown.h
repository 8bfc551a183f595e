/* tandem-markdown.h: notes as Markdown files with front matter
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "tandem-note.h"

G_BEGIN_DECLS

char     *tandem_markdown_from_note (TandemNote  *note,
                                     const char  *note_id);
gboolean  tandem_markdown_to_note   (TandemNote  *note,
                                     const char  *markdown,
                                     gssize       length,
                                     GError     **error);
char     *tandem_markdown_file_name (TandemNote  *note,
                                     const char  *note_id);

G_END_DECLS
