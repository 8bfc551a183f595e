/* tandem-membership.h: proving that a peer holds a notebook's key
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TANDEM_NOTEBOOK_KEY_SIZE 32
/* A nonce is 32 random bytes, written as 64 lowercase hex digits. */
#define TANDEM_NONCE_HEX_LEN 64

typedef enum
{
  TANDEM_ROLE_CLIENT,   /* the side that opened the connection */
  TANDEM_ROLE_SERVER,
} TandemRole;

char     *tandem_hex_encode            (const guint8 *data,
                                        gsize         len);
char     *tandem_membership_new_nonce  (void);
GBytes   *tandem_membership_new_key    (void);
char     *tandem_membership_tag        (GBytes      *key,
                                        const char  *context);
char     *tandem_membership_proof      (GBytes      *key,
                                        TandemRole   prover,
                                        const char  *prover_nonce,
                                        const char  *verifier_nonce,
                                        const char  *client_fingerprint,
                                        const char  *server_fingerprint);
gboolean  tandem_membership_check      (GBytes      *key,
                                        const char  *proof,
                                        TandemRole   prover,
                                        const char  *prover_nonce,
                                        const char  *verifier_nonce,
                                        const char  *client_fingerprint,
                                        const char  *server_fingerprint);

G_END_DECLS
