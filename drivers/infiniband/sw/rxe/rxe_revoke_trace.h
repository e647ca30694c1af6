/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * rxe-revoke tracepoints (events/rxe_revoke/ in tracefs): the life of a
 * user MR as the mm and its owner change it.
 *
 *   rxe_mr_register	a user MR was registered (any kind)
 *   rxe_odp_fault	an ODP MR's copy faulted pages in
 *   rxe_mr_invalidate	an mmu notifier invalidated part of an ODP or a
 *			revocable MR
 *   rxe_mr_revoke	a revocable MR went from active to revoked
 *   rxe_mr_restore	a revocable MR was re-registered (new keys)
 *
 * The events are created in rxe_revoke.c, which is built with -I$(src) so
 * that TRACE_INCLUDE_PATH works out of tree.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM rxe_revoke

#if !defined(RXE_REVOKE_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define RXE_REVOKE_TRACE_H

#include <linux/mmu_notifier.h>
#include <linux/tracepoint.h>
#include <rdma/rxe_revoke-abi.h>

/* Let tools that parse the format files resolve the enums. */
TRACE_DEFINE_ENUM(RXE_REVOKE_MR_PINNED);
TRACE_DEFINE_ENUM(RXE_REVOKE_MR_ODP);
TRACE_DEFINE_ENUM(RXE_REVOKE_MR_REVOCABLE);
TRACE_DEFINE_ENUM(RXE_REVOKE_REASON_NONE);
TRACE_DEFINE_ENUM(RXE_REVOKE_REASON_TRUNCATE);
TRACE_DEFINE_ENUM(RXE_REVOKE_REASON_UNMAP);
TRACE_DEFINE_ENUM(RXE_REVOKE_REASON_EXPLICIT);
TRACE_DEFINE_ENUM(RXE_REVOKE_REASON_ADMIN);
TRACE_DEFINE_ENUM(RXE_REVOKE_REASON_EXIT);
TRACE_DEFINE_ENUM(MMU_NOTIFY_UNMAP);
TRACE_DEFINE_ENUM(MMU_NOTIFY_CLEAR);
TRACE_DEFINE_ENUM(MMU_NOTIFY_PROTECTION_VMA);
TRACE_DEFINE_ENUM(MMU_NOTIFY_PROTECTION_PAGE);
TRACE_DEFINE_ENUM(MMU_NOTIFY_SOFT_DIRTY);
TRACE_DEFINE_ENUM(MMU_NOTIFY_RELEASE);
TRACE_DEFINE_ENUM(MMU_NOTIFY_MIGRATE);
TRACE_DEFINE_ENUM(MMU_NOTIFY_EXCLUSIVE);

#define rxe_trace_show_kind(kind)					\
	__print_symbolic(kind,						\
			 { RXE_REVOKE_MR_PINNED,	"pinned" },	\
			 { RXE_REVOKE_MR_ODP,		"odp" },	\
			 { RXE_REVOKE_MR_REVOCABLE,	"revocable" })

#define rxe_trace_show_reason(reason)					\
	__print_symbolic(reason,					\
			 { RXE_REVOKE_REASON_NONE,	"none" },	\
			 { RXE_REVOKE_REASON_TRUNCATE,	"truncate" },	\
			 { RXE_REVOKE_REASON_UNMAP,	"unmap" },	\
			 { RXE_REVOKE_REASON_EXPLICIT,	"explicit" },	\
			 { RXE_REVOKE_REASON_ADMIN,	"admin" },	\
			 { RXE_REVOKE_REASON_EXIT,	"exit" })

#define rxe_trace_show_event(event)					\
	__print_symbolic(event,						\
			 { MMU_NOTIFY_UNMAP,		"unmap" },	\
			 { MMU_NOTIFY_CLEAR,		"clear" },	\
			 { MMU_NOTIFY_PROTECTION_VMA,	"protection_vma" }, \
			 { MMU_NOTIFY_PROTECTION_PAGE,	"protection_page" }, \
			 { MMU_NOTIFY_SOFT_DIRTY,	"soft_dirty" },	\
			 { MMU_NOTIFY_RELEASE,		"release" },	\
			 { MMU_NOTIFY_MIGRATE,		"migrate" },	\
			 { MMU_NOTIFY_EXCLUSIVE,	"exclusive" })

TRACE_EVENT(rxe_mr_register,
	    TP_PROTO(u32 lkey, u32 rkey, u32 kind, u64 start, u64 length,
		     u64 iova, int access),
	    TP_ARGS(lkey, rkey, kind, start, length, iova, access),
	    TP_STRUCT__entry(__field(u32, lkey)
			     __field(u32, rkey)
			     __field(u32, kind)
			     __field(u64, start)
			     __field(u64, length)
			     __field(u64, iova)
			     __field(int, access)),
	    TP_fast_assign(__entry->lkey = lkey;
			   __entry->rkey = rkey;
			   __entry->kind = kind;
			   __entry->start = start;
			   __entry->length = length;
			   __entry->iova = iova;
			   __entry->access = access;),
	    TP_printk("lkey=0x%x rkey=0x%x kind=%s start=0x%llx length=%llu iova=0x%llx access=0x%x",
		      __entry->lkey, __entry->rkey,
		      rxe_trace_show_kind(__entry->kind), __entry->start,
		      __entry->length, __entry->iova, __entry->access)
);

TRACE_EVENT(rxe_odp_fault,
	    TP_PROTO(u32 lkey, u64 va, u64 len, bool write, int npages),
	    TP_ARGS(lkey, va, len, write, npages),
	    TP_STRUCT__entry(__field(u32, lkey)
			     __field(u64, va)
			     __field(u64, len)
			     __field(bool, write)
			     __field(int, npages)),
	    TP_fast_assign(__entry->lkey = lkey;
			   __entry->va = va;
			   __entry->len = len;
			   __entry->write = write;
			   __entry->npages = npages;),
	    TP_printk("lkey=0x%x va=0x%llx len=%llu write=%d npages=%d",
		      __entry->lkey, __entry->va, __entry->len, __entry->write,
		      __entry->npages)
);

TRACE_EVENT(rxe_mr_invalidate,
	    TP_PROTO(u32 lkey, u32 kind, u32 event, u64 start, u64 end),
	    TP_ARGS(lkey, kind, event, start, end),
	    TP_STRUCT__entry(__field(u32, lkey)
			     __field(u32, kind)
			     __field(u32, event)
			     __field(u64, start)
			     __field(u64, end)),
	    TP_fast_assign(__entry->lkey = lkey;
			   __entry->kind = kind;
			   __entry->event = event;
			   __entry->start = start;
			   __entry->end = end;),
	    TP_printk("lkey=0x%x kind=%s event=%s start=0x%llx end=0x%llx",
		      __entry->lkey, rxe_trace_show_kind(__entry->kind),
		      rxe_trace_show_event(__entry->event), __entry->start,
		      __entry->end)
);

TRACE_EVENT(rxe_mr_revoke,
	    TP_PROTO(u32 lkey, u32 rkey, u32 reason, u64 start, u64 end,
		     u64 duration_ns),
	    TP_ARGS(lkey, rkey, reason, start, end, duration_ns),
	    TP_STRUCT__entry(__field(u32, lkey)
			     __field(u32, rkey)
			     __field(u32, reason)
			     __field(u64, start)
			     __field(u64, end)
			     __field(u64, duration_ns)),
	    TP_fast_assign(__entry->lkey = lkey;
			   __entry->rkey = rkey;
			   __entry->reason = reason;
			   __entry->start = start;
			   __entry->end = end;
			   __entry->duration_ns = duration_ns;),
	    TP_printk("lkey=0x%x rkey=0x%x reason=%s start=0x%llx end=0x%llx duration_ns=%llu",
		      __entry->lkey, __entry->rkey,
		      rxe_trace_show_reason(__entry->reason), __entry->start,
		      __entry->end, __entry->duration_ns)
);

TRACE_EVENT(rxe_mr_restore,
	    TP_PROTO(u32 old_lkey, u32 old_rkey, u32 lkey, u32 rkey, u64 start,
		     u64 length),
	    TP_ARGS(old_lkey, old_rkey, lkey, rkey, start, length),
	    TP_STRUCT__entry(__field(u32, old_lkey)
			     __field(u32, old_rkey)
			     __field(u32, lkey)
			     __field(u32, rkey)
			     __field(u64, start)
			     __field(u64, length)),
	    TP_fast_assign(__entry->old_lkey = old_lkey;
			   __entry->old_rkey = old_rkey;
			   __entry->lkey = lkey;
			   __entry->rkey = rkey;
			   __entry->start = start;
			   __entry->length = length;),
	    TP_printk("old_lkey=0x%x old_rkey=0x%x lkey=0x%x rkey=0x%x start=0x%llx length=%llu",
		      __entry->old_lkey, __entry->old_rkey, __entry->lkey,
		      __entry->rkey, __entry->start, __entry->length)
);

#endif /* RXE_REVOKE_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE rxe_revoke_trace
#include <trace/define_trace.h>
