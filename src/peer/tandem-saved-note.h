/* tandem-saved-note.h: a note kept in a profile's store
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

#include "tandem-note.h"
#include "tandem-store.h"

G_BEGIN_DECLS

#define TANDEM_TYPE_SAVED_NOTE (tandem_saved_note_get_type ())

G_DECLARE_FINAL_TYPE (TandemSavedNote, tandem_saved_note, TANDEM, SAVED_NOTE, GObject)

TandemSavedNote *tandem_saved_note_create          (TandemStore  *store,
                                                    const char   *notebook_id,
                                                    guint64       peer_id,
                                                    GError      **error);
TandemSavedNote *tandem_saved_note_adopt           (TandemStore  *store,
                                                    const char   *notebook_id,
                                                    TandemNote   *note,
                                                    GError      **error);
TandemSavedNote *tandem_saved_note_create_with_id  (TandemStore  *store,
                                                    const char   *notebook_id,
                                                    const char   *note_id,
                                                    guint64       peer_id,
                                                    GError      **error);
TandemSavedNote *tandem_saved_note_load            (TandemStore  *store,
                                                    const char   *note_id,
                                                    guint64       peer_id,
                                                    GError      **error);
TandemNote      *tandem_saved_note_get_note        (TandemSavedNote *self);
const char      *tandem_saved_note_get_id          (TandemSavedNote *self);
guint            tandem_saved_note_get_saved_events (TandemSavedNote *self);
gboolean         tandem_saved_note_commit          (TandemSavedNote  *self,
                                                    GError          **error);

gboolean         tandem_saved_note_rebuild         (TandemSavedNote  *self,
                                                    GError          **error);
gboolean         tandem_saved_note_revert          (TandemSavedNote  *self,
                                                    GError          **error);
gboolean         tandem_saved_note_restore_version (TandemSavedNote  *self,
                                                    guint64           n_events,
                                                    GError          **error);
char            *tandem_saved_note_dup_fields_json (TandemNote *note);

G_END_DECLS
