/* tandem-window.h: the main window: notebooks and notes, and the editor
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "tandem-application.h"
#include "tandem-note-editor.h"

G_BEGIN_DECLS

#define TANDEM_TYPE_WINDOW (tandem_window_get_type ())

G_DECLARE_FINAL_TYPE (TandemWindow, tandem_window, TANDEM, WINDOW, AdwApplicationWindow)

TandemWindow     *tandem_window_new          (TandemApplication *app,
                                              TandemPeer        *peer);
TandemNoteEditor *tandem_window_get_editor   (TandemWindow      *self);
const char       *tandem_window_get_notebook (TandemWindow      *self);
void              tandem_window_show_note    (TandemWindow      *self,
                                              const char        *note_id);
void              tandem_window_search       (TandemWindow      *self,
                                              const char        *text);

G_END_DECLS
