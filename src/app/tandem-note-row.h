/* tandem-note-row.h: how the sidebar's list shows a note
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "tandem-note-item.h"

G_BEGIN_DECLS

#define TANDEM_TYPE_NOTE_ROW (tandem_note_row_get_type ())

G_DECLARE_FINAL_TYPE (TandemNoteRow, tandem_note_row, TANDEM, NOTE_ROW, GtkBox)

GtkWidget      *tandem_note_row_new      (void);
void            tandem_note_row_set_item (TandemNoteRow  *self,
                                          TandemNoteItem *item);
TandemNoteItem *tandem_note_row_get_item (TandemNoteRow  *self);

G_END_DECLS
