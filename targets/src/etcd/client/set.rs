//! set: `add e` / `read`, one etcd key per element, `<prefix>s/<element>`;
//! a read is one range over the prefix (one revision).

use super::{parse_scalar, write_error, EtcdOps};
use harness::run::{Completion, OpRequest};
use history::Value;

impl EtcdOps {
    pub(super) async fn set(&mut self, op: &OpRequest) -> Completion {
        match op.f {
            "add" => match self.client.put(&self.key("s", &op.value), b"").await {
                Ok(_) => Completion::Ok(op.value.clone()),
                Err(e) => write_error(e),
            },
            "read" => {
                let prefix = format!("{}s/", self.prefix).into_bytes();
                match self.client.get_prefix(&prefix, true).await {
                    Ok(kvs) => {
                        let mut elements: Vec<Value> = kvs
                            .iter()
                            .map(|kv| parse_scalar(&kv.key[prefix.len()..]))
                            .collect();
                        elements.sort();
                        Completion::Ok(Value::List(elements))
                    }
                    Err(e) => Completion::Fail(e.to_string()),
                }
            }
            f => Completion::fail(format!("unsupported set op {f:?}")),
        }
    }
}
