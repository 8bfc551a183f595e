/* tandem-history-window.h: a note's past versions, and restoring one
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "tandem-note-editor.h"
#include "tandem-peer.h"

G_BEGIN_DECLS

#define TANDEM_TYPE_HISTORY_WINDOW (tandem_history_window_get_type ())

G_DECLARE_FINAL_TYPE (TandemHistoryWindow, tandem_history_window, TANDEM, HISTORY_WINDOW, AdwWindow)

TandemHistoryWindow *tandem_history_window_new (GtkWindow        *parent,
                                                TandemPeer       *peer,
                                                TandemSavedNote  *saved,
                                                TandemNoteEditor *editor);

G_END_DECLS
