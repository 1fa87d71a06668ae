//! Jepsen's `independent` histories: many objects tested at once, each
//! client op's value a `[key value]` tuple (`{:f :cas, :value [3 [1 2]]}`
//! is a cas from 1 to 2 on key 3). [`split`] moves the key into the op's
//! `key` field, after which the checker partitions by key as it does for
//! shakedown's own histories.

use history::{History, Op, Value};

/// The history with every client op's `[key value]` value split into
/// `key` and `value`. Nemesis ops are kept as they are. An error names the
/// first client op whose value is not a two-element tuple.
pub fn split(history: &History) -> Result<History, String> {
    let mut ops = Vec::with_capacity(history.len());
    for op in history.ops() {
        ops.push(if op.process.is_client() {
            split_op(op)?
        } else {
            op.clone()
        });
    }
    History::new(ops).map_err(|e| format!("after splitting [key value] tuples: {e}"))
}

pub(crate) fn split_op(op: &Op) -> Result<Op, String> {
    let (key, value) = match &op.value {
        Value::List(kv) if kv.len() == 2 => (&kv[0], &kv[1]),
        other => {
            return Err(format!(
                "op index {} (process {} {} {}): --independent expects values that are [key value] tuples, found {other}",
                op.index,
                op.process,
                op.kind.name(),
                op.f
            ))
        }
    };
    if key.is_nil() {
        return Err(format!(
            "op index {} (process {}): the key of an independent [key value] tuple must not be nil",
            op.index, op.process
        ));
    }
    let mut out = op.clone();
    out.key = Some(key.clone());
    out.value = value.clone();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use history::OpType;

    #[test]
    fn tuples_become_key_and_value() {
        let h = History::indexed([
            Op::invoke(0, "cas", Value::List(vec![3.into(), vec![1, 2].into()])),
            Op::new(
                OpType::Info,
                history::Process::nemesis(),
                "start-partition",
                Value::Nil,
            ),
            Op::new(
                OpType::Ok,
                history::Process::Client(0),
                "cas",
                Value::List(vec![3.into(), vec![1, 2].into()]),
            ),
        ])
        .unwrap();
        let s = split(&h).unwrap();
        assert_eq!(s.ops()[0].key, Some(Value::Int(3)));
        assert_eq!(s.ops()[0].value, Value::from(vec![1, 2]));
        assert_eq!(s.ops()[1].key, None);
        assert_eq!(s.ops()[2].key, Some(Value::Int(3)));
    }

    #[test]
    fn a_value_that_is_not_a_tuple_is_an_error_naming_the_op() {
        let h = History::indexed([Op::invoke(4, "read", Value::Nil)]).unwrap();
        let e = split(&h).unwrap_err();
        assert!(
            e.contains("op index 0 (process 4 invoke read)") && e.contains("[key value]"),
            "{e}"
        );
    }
}
