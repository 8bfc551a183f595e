/* tandem-server.h: the WebSocket server other peers connect to
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "tandem-transport.h"

G_BEGIN_DECLS

/* Connections one address may hold open at once; more are refused. */
#define TANDEM_SERVER_MAX_PER_ADDRESS 16

#define TANDEM_TYPE_SERVER (tandem_server_get_type ())

G_DECLARE_FINAL_TYPE (TandemServer, tandem_server, TANDEM, SERVER, GObject)

TandemServer *tandem_server_new      (GTlsCertificate  *certificate,
                                      GError          **error);
gboolean      tandem_server_listen   (TandemServer     *self,
                                      guint16           port,
                                      GError          **error);
guint16       tandem_server_get_port (TandemServer     *self);

G_END_DECLS
