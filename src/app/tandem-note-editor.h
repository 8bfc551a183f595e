/* tandem-note-editor.h: one note: its fields above, its text below
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "tandem-buffer-binding.h"
#include "tandem-peer.h"
#include "tandem-source-view.h"

G_BEGIN_DECLS

#define TANDEM_TYPE_NOTE_EDITOR (tandem_note_editor_get_type ())

G_DECLARE_FINAL_TYPE (TandemNoteEditor, tandem_note_editor, TANDEM, NOTE_EDITOR, GtkWidget)

GtkWidget           *tandem_note_editor_new         (void);
void                 tandem_note_editor_set_peer    (TandemNoteEditor *self,
                                                     TandemPeer       *peer);
void                 tandem_note_editor_set_note    (TandemNoteEditor *self,
                                                     TandemSavedNote  *saved);
TandemSavedNote     *tandem_note_editor_get_note    (TandemNoteEditor *self);
TandemSourceView    *tandem_note_editor_get_view    (TandemNoteEditor *self);
TandemBufferBinding *tandem_note_editor_get_binding (TandemNoteEditor *self);
void                 tandem_note_editor_flush       (TandemNoteEditor *self);

G_END_DECLS
