/* tandem-note-item.h: a note as the sidebar's list model holds it
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define TANDEM_TYPE_NOTE_ITEM (tandem_note_item_get_type ())

G_DECLARE_FINAL_TYPE (TandemNoteItem, tandem_note_item, TANDEM, NOTE_ITEM, GObject)

TandemNoteItem *tandem_note_item_new         (const char     *note_id);
gboolean        tandem_note_item_update      (TandemNoteItem *self,
                                              const char     *title,
                                              const char     *snippet,
                                              const char     *colour,
                                              gboolean        pinned,
                                              gint64          updated);
void            tandem_note_item_set_people  (TandemNoteItem *self,
                                              const char     *people);
const char     *tandem_note_item_get_id      (TandemNoteItem *self);
const char     *tandem_note_item_get_title   (TandemNoteItem *self);
const char     *tandem_note_item_get_snippet (TandemNoteItem *self);
const char     *tandem_note_item_get_colour  (TandemNoteItem *self);
const char     *tandem_note_item_get_people  (TandemNoteItem *self);
gboolean        tandem_note_item_get_pinned  (TandemNoteItem *self);
gint64          tandem_note_item_get_updated (TandemNoteItem *self);
int             tandem_note_item_compare     (gconstpointer   a,
                                              gconstpointer   b,
                                              gpointer        user_data);

G_END_DECLS
