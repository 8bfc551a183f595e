/* tandem-invite.h: invite codes for shared notebooks
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

#include "tandem-membership.h"

G_BEGIN_DECLS

/* An invite names at most this many of the inviter's addresses. */
#define TANDEM_INVITE_MAX_ADDRESSES 4

/**
 * TandemInvite:
 * @notebook_id: the notebook's id, 32 lowercase hex digits
 * @key: the notebook's secret key, %TANDEM_NOTEBOOK_KEY_SIZE bytes
 * @addresses: (element-type utf8): where the inviter was reachable, as
 *   "192.0.2.1:7000" or "[2001:db8::1]:7000"; a hint, possibly empty
 */
typedef struct
{
  char      *notebook_id;
  GBytes    *key;
  GPtrArray *addresses;
} TandemInvite;

char         *tandem_invite_encode (const char         *notebook_id,
                                    GBytes             *key,
                                    const char * const *addresses,
                                    GError            **error);
TandemInvite *tandem_invite_decode (const char         *code,
                                    GError            **error);
void          tandem_invite_free   (TandemInvite       *invite);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TandemInvite, tandem_invite_free)

G_END_DECLS
