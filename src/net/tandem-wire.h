/* tandem-wire.h: the messages peers exchange, and their checks
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define TANDEM_PROTOCOL_VERSION 1

/* Limits on what one message may hold. Senders split below them. */
#define TANDEM_WIRE_MAX_RUNS      4096   /* runs in one "events" */
#define TANDEM_WIRE_SEND_BYTES    (256u << 10) /* a sender's batch size */
#define TANDEM_WIRE_MAX_NOTES     100000 /* notes in one "have" */
#define TANDEM_WIRE_MAX_MEMBERS   1024
#define TANDEM_WIRE_MAX_NAME      256    /* bytes of a display or notebook name */
#define TANDEM_WIRE_MAX_DEPTH     16     /* nested arrays and objects */

#define TANDEM_WIRE_ERROR (tandem_wire_error_quark ())

typedef enum
{
  TANDEM_WIRE_ERROR_MALFORMED,   /* not JSON, not UTF-8, wrong shape */
  TANDEM_WIRE_ERROR_PROTOCOL,    /* well formed, but not allowed here */
  TANDEM_WIRE_ERROR_INVALID,     /* the content is refused (bad event, ...) */
  TANDEM_WIRE_ERROR_LIMIT,       /* too big, too many */
} TandemWireError;

GQuark tandem_wire_error_quark (void);

/**
 * TandemWireType:
 *
 * See tandem-wire.c for each message's members.
 */
typedef enum
{
  TANDEM_WIRE_HELLO,
  TANDEM_WIRE_AUTH,
  TANDEM_WIRE_NOTEBOOK,
  TANDEM_WIRE_HAVE,
  TANDEM_WIRE_EVENTS,
  TANDEM_WIRE_WANT,
  TANDEM_WIRE_CHECK,
  TANDEM_WIRE_PRESENCE,
  TANDEM_WIRE_REKEY,
  TANDEM_WIRE_NEIGHBORS,
  TANDEM_WIRE_PING,
  TANDEM_WIRE_ERROR_MESSAGE,
  TANDEM_WIRE_N_TYPES,
} TandemWireType;

const char  *tandem_wire_type_name (TandemWireType type);
JsonObject  *tandem_wire_parse     (const char      *data,
                                    gsize            len,
                                    TandemWireType  *type,
                                    GError         **error);
JsonBuilder *tandem_wire_begin     (TandemWireType   type);
char        *tandem_wire_end       (JsonBuilder     *builder,
                                    gsize           *len);
gboolean     tandem_wire_is_hex    (const char      *str,
                                    gsize            len);

G_END_DECLS
