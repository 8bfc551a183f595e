/* tandem-application.h: the Tandem application
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "tandem-peer.h"

G_BEGIN_DECLS

#define TANDEM_TYPE_APPLICATION (tandem_application_get_type ())

G_DECLARE_FINAL_TYPE (TandemApplication, tandem_application, TANDEM, APPLICATION, AdwApplication)

TandemApplication *tandem_application_new      (void);
TandemPeer        *tandem_application_get_peer (TandemApplication *self);
GSettings         *tandem_application_get_settings (TandemApplication *self);

G_END_DECLS
