//! The functions a guard or body may call, by their ETS names and arities.
//!
//! | kind | functions |
//! |---|---|
//! | type tests | `is_atom` `is_float` `is_integer` `is_number` `is_boolean` `is_tuple` `is_map` `is_binary` `is_bitstring` `is_list` `is_pid` `is_port` `is_reference` `is_function` (1 argument each), `is_map_key`(K, M) |
//! | boolean | `'and'` `'or'` `'xor'` (2), `'not'` (1), `'andalso'` `'orelse'` (2 or more, short-circuit) |
//! | comparison | `'=:='` `'=/='` `'=='` `'/='` `'<'` `'=<'` `'>'` `'>='` (2) |
//! | arithmetic | `'+'` `'-'` (1 or 2), `'*'` `'/'` `'div'` `'rem'` `'band'` `'bor'` `'bxor'` `'bsl'` `'bsr'` (2), `'bnot'` `abs` `float` `trunc` `round` (1) |
//! | terms | `element`(N, T), `size` `tuple_size` `byte_size` `bit_size` `map_size` (1), `map_get`(K, M), `max` `min` (2), `hd` `tl` `length` (1; always fail: there are no lists) |

/// A function a match specification may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fun {
    IsAtom,
    IsFloat,
    IsInteger,
    IsNumber,
    IsBoolean,
    IsTuple,
    IsMap,
    IsBinary,
    /// is_list, is_pid, is_port, is_reference, is_function: no such terms here.
    AlwaysFalse,
    IsMapKey,
    And,
    Or,
    Xor,
    Not,
    AndAlso,
    OrElse,
    ExactEq,
    ExactNe,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Neg,
    Plus,
    Mul,
    FDiv,
    Div,
    Rem,
    Band,
    Bor,
    Bxor,
    Bsl,
    Bsr,
    Bnot,
    Abs,
    Float,
    Trunc,
    Round,
    Element,
    Size,
    TupleSize,
    ByteSize,
    BitSize,
    MapSize,
    MapGet,
    Max,
    Min,
    /// hd, tl, length: defined on lists only, which the term model does not have.
    ListOnly,
}

/// The function called `name` with `arity` arguments, or why there is none.
pub(crate) fn lookup(name: &str, arity: usize) -> Result<Fun, String> {
    use Fun::*;
    let fixed = |f: Fun, n: usize| {
        if arity == n {
            Ok(f)
        } else {
            Err(format!("'{name}' takes {n} argument(s), not {arity}"))
        }
    };
    match name {
        "is_atom" => fixed(IsAtom, 1),
        "is_float" => fixed(IsFloat, 1),
        "is_integer" => fixed(IsInteger, 1),
        "is_number" => fixed(IsNumber, 1),
        "is_boolean" => fixed(IsBoolean, 1),
        "is_tuple" => fixed(IsTuple, 1),
        "is_map" => fixed(IsMap, 1),
        "is_binary" | "is_bitstring" => fixed(IsBinary, 1),
        "is_list" | "is_pid" | "is_port" | "is_reference" | "is_function" => fixed(AlwaysFalse, 1),
        "is_map_key" => fixed(IsMapKey, 2),
        "and" => fixed(And, 2),
        "or" => fixed(Or, 2),
        "xor" => fixed(Xor, 2),
        "not" => fixed(Not, 1),
        "andalso" | "orelse" if arity >= 1 => Ok(if name == "andalso" { AndAlso } else { OrElse }),
        "=:=" => fixed(ExactEq, 2),
        "=/=" => fixed(ExactNe, 2),
        "==" => fixed(Eq, 2),
        "/=" => fixed(Ne, 2),
        "<" => fixed(Lt, 2),
        "=<" => fixed(Le, 2),
        ">" => fixed(Gt, 2),
        ">=" => fixed(Ge, 2),
        "+" if arity == 1 => Ok(Plus),
        "+" => fixed(Add, 2),
        "-" if arity == 1 => Ok(Neg),
        "-" => fixed(Sub, 2),
        "*" => fixed(Mul, 2),
        "/" => fixed(FDiv, 2),
        "div" => fixed(Div, 2),
        "rem" => fixed(Rem, 2),
        "band" => fixed(Band, 2),
        "bor" => fixed(Bor, 2),
        "bxor" => fixed(Bxor, 2),
        "bsl" => fixed(Bsl, 2),
        "bsr" => fixed(Bsr, 2),
        "bnot" => fixed(Bnot, 1),
        "abs" => fixed(Abs, 1),
        "float" => fixed(Float, 1),
        "trunc" => fixed(Trunc, 1),
        "round" => fixed(Round, 1),
        "element" => fixed(Element, 2),
        "size" => fixed(Size, 1),
        "tuple_size" => fixed(TupleSize, 1),
        "byte_size" => fixed(ByteSize, 1),
        "bit_size" => fixed(BitSize, 1),
        "map_size" => fixed(MapSize, 1),
        "map_get" => fixed(MapGet, 2),
        "max" => fixed(Max, 2),
        "min" => fixed(Min, 2),
        "hd" | "tl" | "length" => fixed(ListOnly, 1),
        "self" | "node" | "is_record" | "binary_part" | "get_tcw" | "set_tcw" | "caller"
        | "message" | "return_trace" | "exception_trace" | "display" | "process_dump"
        | "enable_trace" | "disable_trace" | "trace" | "silent" | "set_seq_token"
        | "get_seq_token" | "caller_line" | "current_stacktrace" => Err(format!(
            "'{name}' is not supported by rets match specifications"
        )),
        _ => Err(format!("unknown function '{name}'/{arity}")),
    }
}
