/* tandem-note.h: one note, its history, text and fields
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

#include "tandem-event.h"
#include "tandem-field-table.h"

G_BEGIN_DECLS

#define TANDEM_TYPE_NOTE (tandem_note_get_type ())

G_DECLARE_FINAL_TYPE (TandemNote, tandem_note, TANDEM, NOTE, GObject)

TandemNote   *tandem_note_new                 (guint64 peer_id);
guint64       tandem_note_get_peer_id         (TandemNote *self);

/* the text */
char         *tandem_note_dup_text            (TandemNote *self);
guint         tandem_note_get_length          (TandemNote *self);
gunichar      tandem_note_get_char            (TandemNote *self,
                                               guint       pos);

/* local edits; each returns the run it made, to send to the other peers */
TandemEvent  *tandem_note_insert              (TandemNote  *self,
                                               guint        pos,
                                               const char  *text,
                                               GError     **error);
TandemEvent  *tandem_note_delete              (TandemNote  *self,
                                               guint        pos,
                                               guint        len,
                                               GError     **error);
TandemEvent  *tandem_note_set_field           (TandemNote  *self,
                                               const char  *field,
                                               GVariant    *value,
                                               GError     **error);
TandemEvent  *tandem_note_add_to_set          (TandemNote  *self,
                                               const char  *field,
                                               const char  *elem,
                                               GError     **error);
TandemEvent  *tandem_note_remove_from_set     (TandemNote  *self,
                                               const char  *field,
                                               const char  *elem,
                                               GError     **error);

/* undo: this peer's own edits only */
void          tandem_note_begin_user_action   (TandemNote *self);
void          tandem_note_end_user_action     (TandemNote *self);
gboolean      tandem_note_can_undo            (TandemNote *self);
gboolean      tandem_note_can_redo            (TandemNote *self);
GPtrArray    *tandem_note_undo                (TandemNote  *self,
                                               GError     **error);
GPtrArray    *tandem_note_redo                (TandemNote  *self,
                                               GError     **error);

/* events from other peers */
gboolean      tandem_note_receive             (TandemNote   *self,
                                               TandemEvent  *event,
                                               GError      **error);
gboolean      tandem_note_receive_many        (TandemNote   *self,
                                               GPtrArray    *events,
                                               GPtrArray   **errors);
const TandemVersionVector *
              tandem_note_get_version         (TandemNote *self);
GPtrArray    *tandem_note_dup_events_since    (TandemNote                *self,
                                               const TandemVersionVector *known);
GPtrArray    *tandem_note_dup_pending         (TandemNote *self);
guint         tandem_note_get_n_pending       (TandemNote *self);
GPtrArray    *tandem_note_dup_frontier        (TandemNote *self);

/* fields */
void          tandem_note_set_field_policy    (TandemNote        *self,
                                               const char        *field,
                                               TandemFieldPolicy  policy);
TandemFieldPolicy
              tandem_note_get_field_policy    (TandemNote *self,
                                               const char *field);
GVariant     *tandem_note_dup_field           (TandemNote *self,
                                               const char *field);
GPtrArray    *tandem_note_dup_field_values    (TandemNote *self,
                                               const char *field);
GPtrArray    *tandem_note_dup_set             (TandemNote *self,
                                               const char *field);
TandemFieldTable *
              tandem_note_get_fields          (TandemNote *self);
guint64       tandem_note_get_lamport         (TandemNote *self);

/* saving and loading, for the store */
GBytes       *tandem_note_save_log            (TandemNote  *self,
                                               guint32      from);
GBytes       *tandem_note_save_undo           (TandemNote  *self);
gboolean      tandem_note_load_undo           (TandemNote  *self,
                                               GBytes      *bytes,
                                               GError     **error);
TandemNote   *tandem_note_new_from_log        (guint64      peer_id,
                                               GPtrArray   *pieces,
                                               const char  *text,
                                               GError     **error);

/* for tests and the benchmark */
guint         tandem_note_get_n_events        (TandemNote *self);
guint         tandem_note_get_n_runs          (TandemNote *self);
gsize         tandem_note_get_memory_size     (TandemNote *self);
char         *tandem_note_dup_text_by_replay  (TandemNote *self);
GArray       *tandem_note_dup_authors_since   (TandemNote *self,
                                               guint       from);
char         *tandem_note_dup_text_at         (TandemNote *self,
                                               guint       n_events);
gint64        tandem_note_find_event          (TandemNote          *self,
                                               const TandemEventId *id);

G_END_DECLS
