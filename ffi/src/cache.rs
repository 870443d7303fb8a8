//! Cache tables through the C ABI: creation with lifetimes and bounds, per-object lifetimes,
//! statistics, and the manual clock tests use. A thin translation of `rets_core::cache`.

use std::ffi::c_char;
use std::time::Duration;

use rets_core::{InsertOptions, ManualClock, Msgpack, OnFull, TableOptions};

use crate::boundary::{
    arg_bytes, arg_ref, arg_slice, arg_str, boundary, from_handle, into_handle, release,
};
use crate::boundary::{Failure, Out, Outcome};
use crate::ops::{counter_ops, element_list, object_list, rets_counter_op, rets_element};
use crate::owner::rets_owner;
use crate::status::rets_status;
use crate::table::{options, rets_table, rets_table_options};

/// A clock that moves only when told to (rets_manual_clock_advance()), for tests: give it to
/// a cache table in `rets_cache_options.clock` and advance it to make objects expire without
/// waiting.
///
/// Thread-safety: any number of threads may use a clock at once, except rets_manual_clock_free().
/// Tables keep their own reference: freeing the handle does not stop the tables' clocks (they
/// then stand still).
#[allow(non_camel_case_types)]
pub struct rets_manual_clock {
    clock: ManualClock,
}

/// What a write to a full bounded table does.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum rets_on_full {
    /// Evict objects not used recently until the write fits (the default).
    Evict = 0,
    /// Refuse the write with `RETS_STATUS_TABLE_FULL`; nothing changes.
    Reject = 1,
}

/// The cache options of a new table (rets_table_new_cache()). A zero-initialised struct
/// (`rets_cache_options c = {0};`) sets none of them.
///
/// Ownership: rets_table_new_cache() only reads the struct during the call; the table keeps
/// its own reference to `clock`.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct rets_cache_options {
    /// The default lifetime of an object in nanoseconds, from when it is written (0: none).
    pub ttl_ns: u64,
    /// The idle lifetime in nanoseconds: an object expires this long after it was last written
    /// or read by lookup, member or lookup_element (0: none). With a lifetime too (`ttl_ns`, or
    /// an object's own from rets_table_insert_ttl() and the other `_ttl` forms), an object
    /// expires at the earlier of the two ends.
    pub time_to_idle_ns: u64,
    /// The most objects the table holds (0: no bound).
    pub max_size: usize,
    /// The most bytes the table holds, as rets_table_info() counts `memory` (0: no bound).
    pub max_memory: usize,
    /// A `rets_on_full` value.
    pub on_full: u32,
    /// Keep statistics even without the other options (any option keeps them anyway).
    pub record_stats: bool,
    /// The table's clock, or NULL for the monotonic clock.
    pub clock: *const rets_manual_clock,
}

/// A table's cache statistics (rets_table_cache_stats()), since creation or the last reset.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
#[allow(non_camel_case_types)]
pub struct rets_cache_stats {
    /// Reads (lookup, member, lookup_element) that found their key.
    pub hits: u64,
    /// Reads that did not (absent or expired).
    pub misses: u64,
    /// Successful loads recorded with rets_table_record_load().
    pub loads: u64,
    /// Failed loads recorded with rets_table_record_load().
    pub load_failures: u64,
    /// Time spent in recorded loads, in nanoseconds.
    pub load_ns: u64,
    /// Objects removed to respect `max_size` / `max_memory`.
    pub evictions: u64,
    /// Objects removed because their lifetime ended.
    pub expirations: u64,
    /// Writes refused with `RETS_STATUS_TABLE_FULL`.
    pub rejected_writes: u64,
}

/// Creates a manual clock standing at 1 ns and stores it in `*out`.
///
/// Ownership: the caller owns the clock and frees it with rets_manual_clock_free().
///
/// Thread-safety: any thread. Errors: `RETS_STATUS_NULL_ARGUMENT`.
#[no_mangle]
pub extern "C" fn rets_manual_clock_new(out: *mut *mut rets_manual_clock) -> rets_status {
    boundary(|| {
        let out = Out::new(out, "out")?;
        out.write(into_handle(rets_manual_clock {
            clock: ManualClock::new(),
        }));
        Ok(())
    })
}

/// Frees a manual clock handle (tables that use the clock keep it). NULL is ignored.
///
/// Undefined behaviour: freeing a handle twice, or using it afterwards.
#[no_mangle]
pub extern "C" fn rets_manual_clock_free(clock: *mut rets_manual_clock) {
    release(|| drop(from_handle(clock)));
}

/// Moves the clock forward by `nanos` nanoseconds.
///
/// Thread-safety: any thread. Errors: `RETS_STATUS_NULL_ARGUMENT`.
#[no_mangle]
pub extern "C" fn rets_manual_clock_advance(
    clock: *const rets_manual_clock,
    nanos: u64,
) -> rets_status {
    boundary(|| {
        arg_ref(clock, "clock")?
            .clock
            .advance(Duration::from_nanos(nanos));
        Ok(())
    })
}

fn cache_options(mut table: TableOptions, c: &rets_cache_options) -> Outcome<TableOptions> {
    if c.ttl_ns != 0 {
        table = table.ttl(Duration::from_nanos(c.ttl_ns));
    }
    if c.time_to_idle_ns != 0 {
        table = table.time_to_idle(Duration::from_nanos(c.time_to_idle_ns));
    }
    if c.max_size != 0 {
        table = table.max_size(c.max_size);
    }
    if c.max_memory != 0 {
        table = table.max_memory(c.max_memory);
    }
    table = table.on_full(match c.on_full {
        0 => OnFull::Evict,
        1 => OnFull::Reject,
        other => return Err(Failure::invalid(format!("unknown on_full value {other}"))),
    });
    if c.record_stats {
        table = table.record_stats();
    }
    if !c.clock.is_null() {
        table = table.clock(arg_ref(c.clock, "cache->clock")?.clock.clone());
    }
    Ok(table)
}

/// rets_table_new() with cache options: lifetimes, bounds, statistics, a clock. `options`
/// may be NULL for ETS's defaults, `cache` NULL for none (then this is rets_table_new()).
///
/// An expired object is never returned or counted by any call; the library removes expired
/// objects in the background at least once a second (docs/CACHE.md). A bounded table never
/// holds more than `max_size` objects, and `memory` stays within `max_memory` up to the
/// tolerance docs/CACHE.md states.
///
/// Ownership, thread-safety: as rets_table_new().
///
/// Errors: as rets_table_new(); `RETS_STATUS_INVALID_ARGUMENT` also for an unknown `on_full`
/// or both lifetimes set.
#[no_mangle]
pub extern "C" fn rets_table_new_cache(
    owner: *const rets_owner,
    name: *const c_char,
    options: *const rets_table_options,
    cache: *const rets_cache_options,
    out: *mut *mut rets_table,
) -> rets_status {
    boundary(|| {
        let owner = arg_ref(owner, "owner")?;
        let name = arg_str(name, "name")?;
        let mut table_options = match options.is_null() {
            true => TableOptions::new(),
            false => self::options(arg_ref(options, "options")?)?,
        };
        if !cache.is_null() {
            table_options = cache_options(table_options, arg_ref(cache, "cache")?)?;
        }
        let out = Out::new(out, "out")?;
        let table = owner.owner.new_table(name, table_options)?;
        out.write(into_handle(rets_table { table }));
        Ok(())
    })
}

/// The options of a write with lifetime `ttl_ns` (0: the table's default).
fn with_ttl(ttl_ns: u64) -> InsertOptions {
    InsertOptions {
        ttl: (ttl_ns != 0).then(|| Duration::from_nanos(ttl_ns)),
    }
}

/// rets_table_insert() with the object's own lifetime: it expires `ttl_ns` nanoseconds from
/// now (0: the table's default lifetime; none if the table has none).
///
/// Ownership, thread-safety: as rets_table_insert().
///
/// Errors: as rets_table_insert(); `RETS_STATUS_TABLE_FULL` on a full bounded table that
/// rejects, or an object larger than the bound.
#[no_mangle]
pub extern "C" fn rets_table_insert_ttl(
    table: *const rets_table,
    object: *const u8,
    object_len: usize,
    ttl_ns: u64,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let object = arg_bytes(object, object_len, "object")?;
        Ok(table.table.insert_with(Msgpack(object), with_ttl(ttl_ns))?)
    })
}

/// rets_table_insert_many() with one lifetime for every object (`ttl_ns`, 0: the table's
/// default).
///
/// Ownership, thread-safety: as rets_table_insert_many(). Errors: as rets_table_insert_ttl().
#[no_mangle]
pub extern "C" fn rets_table_insert_many_ttl(
    table: *const rets_table,
    objects: *const u8,
    objects_len: usize,
    ttl_ns: u64,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let objects = object_list(arg_bytes(objects, objects_len, "objects")?)?;
        Ok(table
            .table
            .insert_many_with(objects.iter().map(|o| Msgpack(o)), with_ttl(ttl_ns))?)
    })
}

/// rets_table_insert_new() with the object's own lifetime (`ttl_ns`, 0: the table's default).
/// A key whose object has expired counts as absent.
///
/// Ownership, thread-safety: as rets_table_insert_new(). Errors: as rets_table_insert_ttl().
#[no_mangle]
pub extern "C" fn rets_table_insert_new_ttl(
    table: *const rets_table,
    object: *const u8,
    object_len: usize,
    ttl_ns: u64,
    inserted: *mut bool,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let object = arg_bytes(object, object_len, "object")?;
        let out = Out::new(inserted, "inserted")?;
        out.write(
            table
                .table
                .insert_new_with(Msgpack(object), with_ttl(ttl_ns))?,
        );
        Ok(())
    })
}

/// rets_table_insert_new_many() with one lifetime for every object (`ttl_ns`, 0: the table's
/// default). A key whose object has expired counts as absent.
///
/// Ownership, thread-safety: as rets_table_insert_new_many(). Errors: as
/// rets_table_insert_ttl().
#[no_mangle]
pub extern "C" fn rets_table_insert_new_many_ttl(
    table: *const rets_table,
    objects: *const u8,
    objects_len: usize,
    ttl_ns: u64,
    inserted: *mut bool,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let objects = object_list(arg_bytes(objects, objects_len, "objects")?)?;
        let out = Out::new(inserted, "inserted")?;
        out.write(
            table
                .table
                .insert_new_many_with(objects.iter().map(|o| Msgpack(o)), with_ttl(ttl_ns))?,
        );
        Ok(())
    })
}

/// rets_table_update_counters() with a default object and a lifetime (`ttl_ns`): if the key is
/// absent, `default_object` is inserted with that lifetime (0: the table's default); if it is
/// present, a `ttl_ns` other than 0 also gives the updated object a new lifetime from now (0
/// keeps its deadline, as rets_table_update_counters() does).
///
/// Ownership, thread-safety: as rets_table_update_counters().
///
/// Errors: as rets_table_update_counters(); `RETS_STATUS_NULL_ARGUMENT` if `default_object`
/// is NULL; `RETS_STATUS_TABLE_FULL` as rets_table_insert_ttl() when the default object is
/// inserted. On failure nothing changes and `values` is not written.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn rets_table_update_counters_ttl(
    table: *const rets_table,
    key: *const u8,
    key_len: usize,
    ops: *const rets_counter_op,
    ops_len: usize,
    default_object: *const u8,
    default_object_len: usize,
    ttl_ns: u64,
    values: *mut i64,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let key = arg_bytes(key, key_len, "key")?;
        let ops = counter_ops(arg_slice(ops, ops_len, "ops")?);
        let default = required_default(default_object, default_object_len)?;
        if values.is_null() && ops_len > 0 {
            return Err(Failure::new(
                rets_status::NullArgument,
                "the argument `values` is NULL",
            ));
        }
        let results = table.table.update_counters_or_with(
            Msgpack(key),
            &ops,
            Msgpack(default),
            with_ttl(ttl_ns),
        )?;
        for (i, result) in results.into_iter().enumerate() {
            Out::new(values.wrapping_add(i), "values")?.write(result);
        }
        Ok(())
    })
}

/// rets_table_update_element() with a default object and a lifetime (`ttl_ns`): if the key is
/// absent, `default_object` is inserted with that lifetime (0: the table's default); if it is
/// present, a `ttl_ns` other than 0 also gives the updated object a new lifetime from now (0
/// keeps its deadline, as rets_table_update_element() does). Stores in `*updated` whether an
/// object was updated (always true on success: the default makes the key present).
///
/// Ownership, thread-safety: as rets_table_update_element().
///
/// Errors: as rets_table_update_element(); `RETS_STATUS_NULL_ARGUMENT` if `default_object` is
/// NULL; `RETS_STATUS_TABLE_FULL` as rets_table_insert_ttl() when the default object is
/// inserted. On failure nothing changes.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn rets_table_update_element_ttl(
    table: *const rets_table,
    key: *const u8,
    key_len: usize,
    elements: *const rets_element,
    elements_len: usize,
    default_object: *const u8,
    default_object_len: usize,
    ttl_ns: u64,
    updated: *mut bool,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let key = arg_bytes(key, key_len, "key")?;
        let elements = element_list(elements, elements_len)?;
        let default = required_default(default_object, default_object_len)?;
        let out = Out::new(updated, "updated")?;
        out.write(table.table.update_element_or_with(
            Msgpack(key),
            &elements,
            Msgpack(default),
            with_ttl(ttl_ns),
        )?);
        Ok(())
    })
}

/// The default object of an update with a lifetime, which must be given.
fn required_default<'a>(object: *const u8, len: usize) -> Outcome<&'a [u8]> {
    if object.is_null() {
        return Err(Failure::new(
            rets_status::NullArgument,
            "the argument `default_object` is NULL (a lifetime is for the default object)",
        ));
    }
    arg_bytes(object, len, "default_object")
}

/// Fills `*out` with the table's cache statistics (all zero for a table created without
/// cache options). Anyone may ask, whatever the access mode.
///
/// Thread-safety: any thread; the counters are summed without stopping writers, so counts
/// racing the call may or may not be in it.
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT`, `RETS_STATUS_NO_TABLE`.
#[no_mangle]
pub extern "C" fn rets_table_cache_stats(
    table: *const rets_table,
    out: *mut rets_cache_stats,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let out = Out::new(out, "out")?;
        let s = table.table.cache_stats()?;
        out.write(rets_cache_stats {
            hits: s.hits,
            misses: s.misses,
            loads: s.loads,
            load_failures: s.load_failures,
            load_ns: s.load_nanos,
            evictions: s.evictions,
            expirations: s.expirations,
            rejected_writes: s.rejected_writes,
        });
        Ok(())
    })
}

/// Sets the table's cache statistics back to zero.
///
/// Thread-safety: any thread. Errors: `RETS_STATUS_NULL_ARGUMENT`, `RETS_STATUS_NO_TABLE`.
#[no_mangle]
pub extern "C" fn rets_table_cache_stats_reset(table: *const rets_table) -> rets_status {
    boundary(|| Ok(arg_ref(table, "table")?.table.reset_cache_stats()?))
}

/// Records one load from the data source behind the cache: how long it took (`nanos`) and
/// whether it succeeded (`ok`); counted in `loads` or `load_failures`, and `load_ns`.
///
/// Thread-safety: any thread. Errors: `RETS_STATUS_NULL_ARGUMENT`, `RETS_STATUS_NO_TABLE`.
#[no_mangle]
pub extern "C" fn rets_table_record_load(
    table: *const rets_table,
    nanos: u64,
    ok: bool,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        Ok(table.table.record_load(Duration::from_nanos(nanos), ok)?)
    })
}

/// Removes the table's expired objects now (the library also does it in the background at
/// least once a second) and stores how many it removed in `*removed`. Needs write access.
///
/// Thread-safety: any thread.
///
/// Errors: `RETS_STATUS_NULL_ARGUMENT`, `RETS_STATUS_NO_TABLE`, `RETS_STATUS_OWNER_CLOSED`,
/// `RETS_STATUS_ACCESS_DENIED`.
#[no_mangle]
pub extern "C" fn rets_table_purge_expired(
    table: *const rets_table,
    removed: *mut usize,
) -> rets_status {
    boundary(|| {
        let table = arg_ref(table, "table")?;
        let out = Out::new(removed, "removed")?;
        out.write(table.table.purge_expired()?);
        Ok(())
    })
}
