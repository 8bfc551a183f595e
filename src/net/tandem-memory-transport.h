/* tandem-memory-transport.h: two connected transports in one process
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "tandem-transport.h"

G_BEGIN_DECLS

#define TANDEM_TYPE_MEMORY_TRANSPORT (tandem_memory_transport_get_type ())

G_DECLARE_FINAL_TYPE (TandemMemoryTransport, tandem_memory_transport, TANDEM, MEMORY_TRANSPORT, TandemTransport)

void tandem_memory_transport_new_pair (const char       *client_fingerprint,
                                       const char       *server_fingerprint,
                                       TandemTransport **client,
                                       TandemTransport **server);

G_END_DECLS
