//! register: `read` / `write v` / `cas [old new]`, one etcd key per
//! register, `<prefix>r/<key>`, its value the decimal integer.

use super::{parse_scalar, scalar_bytes, write_error, EtcdOps};
use harness::run::{Completion, OpRequest};
use history::Value;

impl EtcdOps {
    pub(super) async fn register(&mut self, op: &OpRequest, key: &Value) -> Completion {
        let k = self.key("r", key);
        match op.f {
            // A read changes nothing: any error is a failure.
            "read" => match self.client.get(&k).await {
                Ok(kv) => Completion::Ok(kv.map_or(Value::Nil, |kv| parse_scalar(&kv.value))),
                Err(e) => Completion::Fail(e.to_string()),
            },
            "write" => match self.client.put(&k, &scalar_bytes(&op.value)).await {
                Ok(_) => Completion::Ok(op.value.clone()),
                Err(e) => write_error(e),
            },
            "cas" => {
                let Some([from, to]) = op.value.as_list() else {
                    return Completion::fail("cas value must be [old new]");
                };
                match self
                    .client
                    .cas(&k, &scalar_bytes(from), &scalar_bytes(to))
                    .await
                {
                    Ok(true) => Completion::Ok(op.value.clone()),
                    Ok(false) => Completion::fail("cas: value differs"),
                    Err(e) => write_error(e),
                }
            }
            f => Completion::fail(format!("unsupported register op {f:?}")),
        }
    }
}
