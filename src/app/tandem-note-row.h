/* tandem-note-row.h: a note in the sidebar's list
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define TANDEM_TYPE_NOTE_ROW (tandem_note_row_get_type ())

G_DECLARE_FINAL_TYPE (TandemNoteRow, tandem_note_row, TANDEM, NOTE_ROW, GtkListBoxRow)

GtkWidget  *tandem_note_row_new        (const char    *note_id);
const char *tandem_note_row_get_id     (TandemNoteRow *self);
void        tandem_note_row_update     (TandemNoteRow *self,
                                        const char    *title,
                                        const char    *snippet,
                                        const char    *colour,
                                        gboolean       pinned,
                                        gint64         updated,
                                        const char    *people);
gboolean    tandem_note_row_get_pinned (TandemNoteRow *self);
gint64      tandem_note_row_get_updated (TandemNoteRow *self);

G_END_DECLS
