/* tandem-transport.h: one connection to another peer, carrying text frames
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

#include "tandem-membership.h"

G_BEGIN_DECLS

/* The largest frame a peer accepts; a longer one closes the connection.
 * Senders split their batches well below it (see tandem-wire.h). */
#define TANDEM_TRANSPORT_MAX_FRAME (4u << 20)

#define TANDEM_TYPE_TRANSPORT (tandem_transport_get_type ())

G_DECLARE_DERIVABLE_TYPE (TandemTransport, tandem_transport, TANDEM, TRANSPORT, GObject)

struct _TandemTransportClass
{
  GObjectClass parent_class;

  void (*send)  (TandemTransport *self,
                 const char      *text,
                 gsize            len);
  void (*close) (TandemTransport *self,
                 const char      *reason);
};

void         tandem_transport_send                   (TandemTransport *self,
                                                      const char      *text,
                                                      gsize            len);
void         tandem_transport_close                  (TandemTransport *self,
                                                      const char      *reason);
gboolean     tandem_transport_is_open                (TandemTransport *self);
TandemRole   tandem_transport_get_role               (TandemTransport *self);
const char  *tandem_transport_get_local_fingerprint  (TandemTransport *self);
const char  *tandem_transport_get_remote_fingerprint (TandemTransport *self);
const char  *tandem_transport_get_remote_host        (TandemTransport *self);

/* for subclasses */
void         _tandem_transport_setup                 (TandemTransport *self,
                                                      TandemRole       role,
                                                      const char      *local_fingerprint,
                                                      const char      *remote_fingerprint,
                                                      const char      *remote_host);
void         _tandem_transport_received              (TandemTransport *self,
                                                      const char      *text,
                                                      gsize            len);
void         _tandem_transport_closed                (TandemTransport *self,
                                                      const char      *reason);

G_END_DECLS
