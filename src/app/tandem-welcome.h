/* tandem-welcome.h: the note a new profile starts with
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "tandem-peer.h"

G_BEGIN_DECLS

char *tandem_welcome_add_note (TandemPeer  *peer,
                               GError     **error);

G_END_DECLS
