//! The fuzzing entry point must never panic: random bytes, bytes mutated from realistic
//! replay documents, and replays of malformed directives.

use krs_api::merge::fuzz_strategic_merge_patch;

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[test]
fn merge_fuzz_random_bytes_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..4000 {
        let len = rng.below(400) as usize;
        let data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        fuzz_strategic_merge_patch(&data);
    }
}

const SEEDS: [&str; 4] = [
    r#"{"apiVersion":"apps/v1","kind":"Deployment",
        "original":{"spec":{"template":{"spec":{"containers":[{"name":"a","env":[{"name":"X"}]},{"name":"b"}]}},
                   "strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1}}},
                   "metadata":{"finalizers":["f1","f2"],"labels":{"a":"b"}}},
        "patch":{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"b"},{"name":"c"}],
                 "containers":[{"name":"c"},{"$patch":"delete","name":"a"}]}},
                 "strategy":{"$retainKeys":["type"],"type":"Recreate"}},
                 "metadata":{"$deleteFromPrimitiveList/finalizers":["f1"],"labels":{"$patch":"replace"}}}}"#,
    r#"{"apiVersion":"v1","kind":"Service",
        "original":{"spec":{"ports":[{"port":53,"protocol":"TCP"},{"port":53,"protocol":"UDP"}]}},
        "patch":{"spec":{"$setElementOrder/ports":[{"port":53}],"ports":[{"port":53,"name":"dns"}]}}}"#,
    r#"{"apiVersion":"v1","kind":"Pod",
        "original":{"spec":{"volumes":[{"name":"v","emptyDir":{}}],"tolerations":[{"key":"k"}]}},
        "patch":{"spec":{"volumes":[{"$retainKeys":["name","secret"],"name":"v","secret":{}}],
                 "$deleteFromPrimitiveList/tolerations":[{"key":"k"}]}}}"#,
    r#"{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
        "original":{"spec":{"versions":[{"name":"v1","schema":{"openAPIV3Schema":{"properties":{"a":{"type":"string"}}}}}]}},
        "patch":{"spec":{"versions":[{"name":"v1","served":false}]}}}"#,
];

#[test]
fn merge_fuzz_mutated_replays_never_panic() {
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    let alphabet = br#"{}[]:,"$/ 0123456789abcnull-truefalse"#;
    for seed in SEEDS {
        // Unmutated first: the seeds themselves must parse as replays.
        fuzz_strategic_merge_patch(seed.as_bytes());
        for _ in 0..600 {
            let mut data = seed.as_bytes().to_vec();
            for _ in 0..=rng.below(4) {
                let at = rng.below(data.len() as u64) as usize;
                let byte = alphabet[rng.below(alphabet.len() as u64) as usize];
                match rng.below(3) {
                    0 => data[at] = byte,
                    1 => data.insert(at, byte),
                    _ => {
                        data.remove(at);
                    }
                }
            }
            fuzz_strategic_merge_patch(&data);
        }
    }
}

#[test]
fn merge_fuzz_generated_documents_exercise_every_kind() {
    // Two leading bytes pick the kind; walk all of them with a few generated bodies each.
    let mut rng = Rng(42);
    for k in 0..2048u16 {
        let mut data = k.to_be_bytes().to_vec();
        data.extend((0..64).map(|_| rng.next() as u8));
        fuzz_strategic_merge_patch(&data);
    }
}
