/* tandem-preferences-window.h: the preferences: you, the notebook, history
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "tandem-peer.h"

G_BEGIN_DECLS

#define TANDEM_TYPE_PREFERENCES_WINDOW (tandem_preferences_window_get_type ())

G_DECLARE_FINAL_TYPE (TandemPreferencesWindow, tandem_preferences_window, TANDEM, PREFERENCES_WINDOW,
                      AdwPreferencesWindow)

TandemPreferencesWindow *tandem_preferences_window_new          (GtkWindow    *parent,
                                                                 TandemPeer   *peer,
                                                                 const char   *notebook_id);
guint                    tandem_preferences_get_history_days    (void);
gboolean                 tandem_preferences_thin_history        (TandemStore  *store,
                                                                 guint        *n_removed,
                                                                 GError      **error);

G_END_DECLS
