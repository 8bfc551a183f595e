/* tandem-op-log.h: what each event of a note did, run-length encoded
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  TANDEM_OP_INSERT,          /* event k inserts one code point at pos + k */
  TANDEM_OP_DELETE_FORWARD,  /* every event deletes the code point at pos */
  TANDEM_OP_DELETE_BACKWARD, /* event k deletes the code point at pos - k */
  TANDEM_OP_FIELD,           /* a field write: no effect on the text */
} TandemOpKind;

/* Positions are code points in the document at the event's parents. */
typedef struct
{
  guint32 lv;
  guint32 len;
  guint32 pos;
  guint32 length_before;     /* document length at the first event's parents */
  guint32 text_offset;       /* INSERT: byte offset of its text in the log's text */
  TandemOpKind kind : 8;
} TandemOpRun;

typedef struct _TandemOpLog TandemOpLog;

TandemOpLog       *tandem_op_log_new          (void);
void               tandem_op_log_free         (TandemOpLog *self);
guint32            tandem_op_log_get_length   (const TandemOpLog *self);
void               tandem_op_log_append       (TandemOpLog  *self,
                                               TandemOpKind  kind,
                                               guint32       pos,
                                               guint32       len,
                                               const char   *text,
                                               gsize         text_bytes,
                                               guint32       length_before,
                                               gboolean      follows_previous);
void               tandem_op_log_truncate     (TandemOpLog *self,
                                               guint32      length);
const TandemOpRun *tandem_op_log_find         (const TandemOpLog *self,
                                               guint32            lv);
const TandemOpRun *tandem_op_log_get_run      (const TandemOpLog *self,
                                               guint              index);
guint              tandem_op_log_get_n_runs   (const TandemOpLog *self);
guint              tandem_op_log_find_index   (const TandemOpLog *self,
                                               guint32            lv);
void               tandem_op_log_set_length_before (TandemOpLog *self,
                                                    guint        index,
                                                    guint32      length);
const char        *tandem_op_log_get_text     (const TandemOpLog  *self,
                                               const TandemOpRun  *run,
                                               guint32             offset,
                                               guint32             n_chars,
                                               gsize              *n_bytes);
guint32            tandem_op_log_length_after (const TandemOpLog *self,
                                               guint32            lv);
gsize              tandem_op_log_get_memory_size (const TandemOpLog *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TandemOpLog, tandem_op_log_free)

G_END_DECLS
