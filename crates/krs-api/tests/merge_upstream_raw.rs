//! Upstream's strategic merge patch application cases, with exact list order:
//! `strategicMergePatchRawTestCases`, `customStrategicMergePatchRawTestCases` (k8s.io/apimachinery
//! pkg/util/strategicpatch/patch_test.go at eed236ceee2c19c2753a3d93ac0631dc20750454). Each case
//! applies the expected two-way patch to the original (giving the modified document) and the
//! expected three-way patch to the current document (giving the result).
//!
//! Upstream's test type (MergeItem) is mapped onto real types with the same metadata (see
//! [`Root`]): `mergingList` → ownerReferences (merge key uid) or containers (name), whose
//! nested `mergingList` → ports (containerPort) and `mergeItemPtr` → volumeMounts (mountPath);
//! `mergingIntList` → finalizers; `nonMergingList` → managedFields / tolerations / envFrom;
//! `nonMergingIntList` → externalIPs; `simpleMap` → labels / nodeSelector / selector;
//! `retainKeysMergingList` → volumes; `retainKeysMap` → metadata; `name`/`value`/`other` →
//! scalar fields of the target (e.g. name/image/workingDir of a container). Merge key values
//! become realistic strings (`1` → `c1`, `uid-1`, `/m1`, `vol1`, `example.com/f1`).
//!
//! Not ported: upstream's RawExtension `replace` cases (no built-in type has such a field; see
//! merge_directives.rs for `patchStrategy: replace`) and two retainKeys cases whose documents
//! mix the retainKeys map with top-level scalars.

mod merge_common;

use merge_common::{Case, Expect, Root, run};

#[test]
fn merge_upstream_raw_cases() {
    let failures = run(CASES);
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

const CASES: &[Case] = &[
    Case {
        description: "nested patch merge with empty list (two-way)",
        root: Root::Meta,
        original: r#"{"name":"hi"}"#,
        patch: r#"{"ownerReferences":[{"uid":"hello"},{"$patch":"delete","uid":"doesntexist"}]}"#,
        expected: Expect::Result(r#"{"name":"hi","ownerReferences":[{"uid":"hello"}]}"#),
    },
    Case {
        description: "nested patch merge with empty list (three-way)",
        root: Root::Meta,
        original: r#"{"name":"hi","ownerReferences":[{"uid":"hello2"}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"hello"},{"uid":"doesntexist"}],"ownerReferences":[{"uid":"hello"}]}"#,
        expected: Expect::Result(
            r#"{"name":"hi","ownerReferences":[{"uid":"hello"},{"uid":"hello2"}]}"#,
        ),
    },
    Case {
        description: "delete items in lists of scalars (two-way)",
        root: Root::Meta,
        original: r#"{"finalizers":["example.com/f1","example.com/f2","example.com/f3"]}"#,
        patch: r#"{"$setElementOrder/finalizers":["example.com/f1","example.com/f2"],"$deleteFromPrimitiveList/finalizers":["example.com/f3"]}"#,
        expected: Expect::Result(r#"{"finalizers":["example.com/f1","example.com/f2"]}"#),
    },
    Case {
        description: "delete items in lists of scalars (three-way)",
        root: Root::Meta,
        original: r#"{"finalizers":["example.com/f1","example.com/f2","example.com/f3","example.com/f4"]}"#,
        patch: r#"{"$setElementOrder/finalizers":["example.com/f1","example.com/f2"],"$deleteFromPrimitiveList/finalizers":["example.com/f3"]}"#,
        expected: Expect::Result(
            r#"{"finalizers":["example.com/f1","example.com/f2","example.com/f4"]}"#,
        ),
    },
    Case {
        description: "delete all duplicate items in lists of scalars (two-way)",
        root: Root::Meta,
        original: r#"{"finalizers":["example.com/f1","example.com/f2","example.com/f3","example.com/f3"]}"#,
        patch: r#"{"$setElementOrder/finalizers":["example.com/f1","example.com/f2"],"$deleteFromPrimitiveList/finalizers":["example.com/f3"]}"#,
        expected: Expect::Result(r#"{"finalizers":["example.com/f1","example.com/f2"]}"#),
    },
    Case {
        description: "delete all duplicate items in lists of scalars (three-way)",
        root: Root::Meta,
        original: r#"{"finalizers":["example.com/f1","example.com/f2","example.com/f3","example.com/f3","example.com/f4"]}"#,
        patch: r#"{"$setElementOrder/finalizers":["example.com/f1","example.com/f2"],"$deleteFromPrimitiveList/finalizers":["example.com/f3"]}"#,
        expected: Expect::Result(
            r#"{"finalizers":["example.com/f1","example.com/f2","example.com/f4"]}"#,
        ),
    },
    Case {
        description: "add and delete items in lists of scalars (two-way)",
        root: Root::Meta,
        original: r#"{"finalizers":["example.com/f1","example.com/f2","example.com/f3"]}"#,
        patch: r#"{"$setElementOrder/finalizers":["example.com/f1","example.com/f2","example.com/f4"],"$deleteFromPrimitiveList/finalizers":["example.com/f3"],"finalizers":["example.com/f4"]}"#,
        expected: Expect::Result(
            r#"{"finalizers":["example.com/f1","example.com/f2","example.com/f4"]}"#,
        ),
    },
    Case {
        description: "add and delete items in lists of scalars (three-way)",
        root: Root::Meta,
        original: r#"{"finalizers":["example.com/f1","example.com/f2","example.com/f3","example.com/f4"]}"#,
        patch: r#"{"$setElementOrder/finalizers":["example.com/f1","example.com/f2","example.com/f4"],"$deleteFromPrimitiveList/finalizers":["example.com/f3"]}"#,
        expected: Expect::Result(
            r#"{"finalizers":["example.com/f1","example.com/f2","example.com/f4"]}"#,
        ),
    },
    Case {
        description: "merge lists of maps (two-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2","name":2}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-4"},{"uid":"uid-1"},{"uid":"uid-2"},{"uid":"uid-3"}],"ownerReferences":[{"uid":"uid-4","name":4},{"uid":"uid-3","name":3}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-4","name":4},{"uid":"uid-1"},{"uid":"uid-2","name":2},{"uid":"uid-3","name":3}]}"#,
        ),
    },
    Case {
        description: "merge lists of maps (three-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1","kind":"a"},{"uid":"uid-2","name":2,"kind":"b"}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-4"},{"uid":"uid-1"},{"uid":"uid-2"},{"uid":"uid-3"}],"ownerReferences":[{"uid":"uid-4","name":4},{"uid":"uid-3","name":3}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-4","name":4},{"uid":"uid-1","kind":"a"},{"uid":"uid-2","name":2,"kind":"b"},{"uid":"uid-3","name":3}]}"#,
        ),
    },
    Case {
        description: "merge lists of maps with conflict (two-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2","name":2}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2"},{"uid":"uid-3"}],"ownerReferences":[{"uid":"uid-3","name":3}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2","name":2},{"uid":"uid-3","name":3}]}"#,
        ),
    },
    Case {
        description: "merge lists of maps with conflict (three-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1","kind":"a"},{"uid":"uid-2","name":3,"kind":"b"}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2"},{"uid":"uid-3"}],"ownerReferences":[{"uid":"uid-2","name":2},{"uid":"uid-3","name":3}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-1","kind":"a"},{"uid":"uid-2","name":2,"kind":"b"},{"uid":"uid-3","name":3}]}"#,
        ),
    },
    Case {
        description: "add field to map in merging list (two-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2","name":2}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2"}],"ownerReferences":[{"uid":"uid-1","name":1}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-1","name":1},{"uid":"uid-2","name":2}]}"#,
        ),
    },
    Case {
        description: "add field to map in merging list (three-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1","kind":"a"},{"uid":"uid-2","name":2,"kind":"b"}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2"}],"ownerReferences":[{"uid":"uid-1","name":1}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-1","name":1,"kind":"a"},{"uid":"uid-2","name":2,"kind":"b"}]}"#,
        ),
    },
    Case {
        description: "add field to map in merging list (two-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2","name":2}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2"}],"ownerReferences":[{"uid":"uid-1","name":1}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-1","name":1},{"uid":"uid-2","name":2}]}"#,
        ),
    },
    Case {
        description: "add field to map in merging list (three-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1","kind":"a"},{"uid":"uid-2","name":2,"kind":"b"}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2"}],"ownerReferences":[{"uid":"uid-1","name":1}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-1","name":1,"kind":"a"},{"uid":"uid-2","name":2,"kind":"b"}]}"#,
        ),
    },
    Case {
        description: "add field to map in merging list with conflict (two-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2","name":2}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2"}],"ownerReferences":[{"uid":"uid-1","name":1}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-1","name":1},{"uid":"uid-2","name":2}]}"#,
        ),
    },
    Case {
        description: "add field to map in merging list with conflict (three-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1","kind":"a"},{"uid":"uid-3","name":2,"kind":"b"}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2"}],"ownerReferences":[{"uid":"uid-1","name":1},{"uid":"uid-2","name":2}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-1","name":1,"kind":"a"},{"uid":"uid-2","name":2},{"uid":"uid-3","name":2,"kind":"b"}]}"#,
        ),
    },
    Case {
        description: "add duplicate field to map in merging list (two-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2","name":2}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2"}],"ownerReferences":[{"uid":"uid-1","name":1}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-1","name":1},{"uid":"uid-2","name":2}]}"#,
        ),
    },
    Case {
        description: "add duplicate field to map in merging list (three-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1","name":1,"kind":"a"},{"uid":"uid-2","name":2,"kind":"b"}]}"#,
        patch: r#"{}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-1","name":1,"kind":"a"},{"uid":"uid-2","name":2,"kind":"b"}]}"#,
        ),
    },
    Case {
        description: "add an item that already exists in current object in merging list (two-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1","name":"a"},{"uid":"uid-2"}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2"},{"uid":"uid-3"}],"ownerReferences":[{"uid":"uid-3"}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-1","name":"a"},{"uid":"uid-2"},{"uid":"uid-3"}]}"#,
        ),
    },
    Case {
        description: "add an item that already exists in current object in merging list (three-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1","name":"a","kind":"x"},{"uid":"uid-2"},{"uid":"uid-3"}]}"#,
        patch: r#"{}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-1","name":"a","kind":"x"},{"uid":"uid-2"},{"uid":"uid-3"}]}"#,
        ),
    },
    Case {
        description: "add duplicate field to map in merging list with conflict (two-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2","name":2}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2"}],"ownerReferences":[{"uid":"uid-1","name":1}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-1","name":1},{"uid":"uid-2","name":2}]}"#,
        ),
    },
    Case {
        description: "add duplicate field to map in merging list with conflict (three-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1","name":1,"kind":"a"},{"uid":"uid-2","name":3,"kind":"b"}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2"}],"ownerReferences":[{"uid":"uid-2","name":2}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-1","name":1,"kind":"a"},{"uid":"uid-2","name":2,"kind":"b"}]}"#,
        ),
    },
    Case {
        description: "replace map field value in merging list (two-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1","name":1},{"uid":"uid-2","name":2}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2"}],"ownerReferences":[{"uid":"uid-1","name":"a"}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-1","name":"a"},{"uid":"uid-2","name":2}]}"#,
        ),
    },
    Case {
        description: "replace map field value in merging list (three-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1","name":1,"kind":"a"},{"uid":"uid-2","name":2,"kind":"b"}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2"}],"ownerReferences":[{"uid":"uid-1","name":"a"}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-1","name":"a","kind":"a"},{"uid":"uid-2","name":2,"kind":"b"}]}"#,
        ),
    },
    Case {
        description: "replace map field value in merging list with conflict (two-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1","name":1},{"uid":"uid-2","name":2}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2"}],"ownerReferences":[{"uid":"uid-1","name":"a"}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-1","name":"a"},{"uid":"uid-2","name":2}]}"#,
        ),
    },
    Case {
        description: "replace map field value in merging list with conflict (three-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1","name":3,"kind":"a"},{"uid":"uid-2","name":2,"kind":"b"}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2"}],"ownerReferences":[{"uid":"uid-1","name":"a"}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-1","name":"a","kind":"a"},{"uid":"uid-2","name":2,"kind":"b"}]}"#,
        ),
    },
    Case {
        description: "delete map from merging list (two-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2"}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-2"}],"ownerReferences":[{"uid":"uid-1","$patch":"delete"}]}"#,
        expected: Expect::Result(r#"{"ownerReferences":[{"uid":"uid-2"}]}"#),
    },
    Case {
        description: "delete map from merging list (three-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2","kind":"b"}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-2"}],"ownerReferences":[{"uid":"uid-1","$patch":"delete"}]}"#,
        expected: Expect::Result(r#"{"ownerReferences":[{"uid":"uid-2","kind":"b"}]}"#),
    },
    Case {
        description: "delete map from merging list with conflict (two-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2"}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-2"}],"ownerReferences":[{"uid":"uid-1","$patch":"delete"}]}"#,
        expected: Expect::Result(r#"{"ownerReferences":[{"uid":"uid-2"}]}"#),
    },
    Case {
        description: "delete map from merging list with conflict (three-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1","kind":"a"},{"uid":"uid-2","kind":"b"}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-2"}],"ownerReferences":[{"uid":"uid-1","$patch":"delete"}]}"#,
        expected: Expect::Result(r#"{"ownerReferences":[{"uid":"uid-2","kind":"b"}]}"#),
    },
    Case {
        description: "delete missing map from merging list (two-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2"}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-2"}],"ownerReferences":[{"uid":"uid-1","$patch":"delete"}]}"#,
        expected: Expect::Result(r#"{"ownerReferences":[{"uid":"uid-2"}]}"#),
    },
    Case {
        description: "delete missing map from merging list (three-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-2","kind":"b"}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-2"}],"ownerReferences":[{"uid":"uid-1","$patch":"delete"}]}"#,
        expected: Expect::Result(r#"{"ownerReferences":[{"uid":"uid-2","kind":"b"}]}"#),
    },
    Case {
        description: "delete missing map from merging list with conflict (two-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2"}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-2"}],"ownerReferences":[{"uid":"uid-1","$patch":"delete"}]}"#,
        expected: Expect::Result(r#"{"ownerReferences":[{"uid":"uid-2"}]}"#),
    },
    Case {
        description: "delete missing map from merging list with conflict (three-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-3","kind":"a"}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-2"}],"ownerReferences":[{"uid":"uid-2"},{"uid":"uid-1","$patch":"delete"}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-2"},{"uid":"uid-3","kind":"a"}]}"#,
        ),
    },
    Case {
        description: "add map and delete map from merging list (two-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2"}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-2"},{"uid":"uid-3"}],"ownerReferences":[{"uid":"uid-3"},{"uid":"uid-1","$patch":"delete"}]}"#,
        expected: Expect::Result(r#"{"ownerReferences":[{"uid":"uid-2"},{"uid":"uid-3"}]}"#),
    },
    Case {
        description: "add map and delete map from merging list (three-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2","kind":"b"},{"uid":"uid-4","kind":"c"}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-2"},{"uid":"uid-3"}],"ownerReferences":[{"uid":"uid-3"},{"uid":"uid-1","$patch":"delete"}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-2","kind":"b"},{"uid":"uid-4","kind":"c"},{"uid":"uid-3"}]}"#,
        ),
    },
    Case {
        description: "add map and delete map from merging list with conflict (two-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2"}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-2"},{"uid":"uid-3"}],"ownerReferences":[{"uid":"uid-3"},{"uid":"uid-1","$patch":"delete"}]}"#,
        expected: Expect::Result(r#"{"ownerReferences":[{"uid":"uid-2"},{"uid":"uid-3"}]}"#),
    },
    Case {
        description: "add map and delete map from merging list with conflict (three-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1","kind":"a"},{"uid":"uid-4","kind":"c"}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-2"},{"uid":"uid-3"}],"ownerReferences":[{"uid":"uid-2"},{"uid":"uid-3"},{"uid":"uid-1","$patch":"delete"}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-4","kind":"c"},{"uid":"uid-2"},{"uid":"uid-3"}]}"#,
        ),
    },
    Case {
        description: "delete field from map in merging list (two-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1","name":1},{"uid":"uid-2","name":2}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2"}],"ownerReferences":[{"uid":"uid-1","name":null}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2","name":2}]}"#,
        ),
    },
    Case {
        description: "delete field from map in merging list (three-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1","name":1,"kind":"a"},{"uid":"uid-2","name":2,"kind":"b"}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2"}],"ownerReferences":[{"uid":"uid-1","name":null}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-1","kind":"a"},{"uid":"uid-2","name":2,"kind":"b"}]}"#,
        ),
    },
    Case {
        description: "delete field from map in merging list with conflict (two-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1","name":1},{"uid":"uid-2","name":2}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2"}],"ownerReferences":[{"uid":"uid-1","name":null}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2","name":2}]}"#,
        ),
    },
    Case {
        description: "delete field from map in merging list with conflict (three-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1","name":"a","kind":"a"},{"uid":"uid-2","name":2}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2"}],"ownerReferences":[{"uid":"uid-1","name":null}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-1","kind":"a"},{"uid":"uid-2","name":2}]}"#,
        ),
    },
    Case {
        description: "delete missing field from map in merging list (two-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1","name":1},{"uid":"uid-2","name":2}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2"}],"ownerReferences":[{"uid":"uid-1","name":null}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2","name":2}]}"#,
        ),
    },
    Case {
        description: "delete missing field from map in merging list (three-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1","kind":"a"},{"uid":"uid-2","name":2,"kind":"b"}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2"}],"ownerReferences":[{"uid":"uid-1","name":null}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-1","kind":"a"},{"uid":"uid-2","name":2,"kind":"b"}]}"#,
        ),
    },
    Case {
        description: "delete missing field from map in merging list with conflict (two-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1","name":1},{"uid":"uid-2","name":2}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2"}],"ownerReferences":[{"uid":"uid-1","name":null}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2","name":2}]}"#,
        ),
    },
    Case {
        description: "delete missing field from map in merging list with conflict (three-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1","kind":"a"},{"uid":"uid-2","kind":"b"}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2"}],"ownerReferences":[{"uid":"uid-1","name":null},{"uid":"uid-2","name":2}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-1","kind":"a"},{"uid":"uid-2","name":2,"kind":"b"}]}"#,
        ),
    },
    Case {
        description: "replace non merging list nested in merging list (two-way)",
        root: Root::Spec,
        original: r#"{"containers":[{"name":"c1","envFrom":[{"prefix":1},{"prefix":2,"value":2}]},{"name":"c2"}]}"#,
        patch: r#"{"$setElementOrder/containers":[{"name":"c1"},{"name":"c2"}],"containers":[{"name":"c1","envFrom":[{"prefix":1,"value":1}]}]}"#,
        expected: Expect::Result(
            r#"{"containers":[{"name":"c1","envFrom":[{"prefix":1,"value":1}]},{"name":"c2"}]}"#,
        ),
    },
    Case {
        description: "replace non merging list nested in merging list (three-way)",
        root: Root::Spec,
        original: r#"{"containers":[{"name":"c1","workingDir":"a","envFrom":[{"prefix":1},{"prefix":2,"value":2}]},{"name":"c2","workingDir":"b"}]}"#,
        patch: r#"{"$setElementOrder/containers":[{"name":"c1"},{"name":"c2"}],"containers":[{"name":"c1","envFrom":[{"prefix":1,"value":1}]}]}"#,
        expected: Expect::Result(
            r#"{"containers":[{"name":"c1","workingDir":"a","envFrom":[{"prefix":1,"value":1}]},{"name":"c2","workingDir":"b"}]}"#,
        ),
    },
    Case {
        description: "replace non merging list nested in merging list with value conflict (two-way)",
        root: Root::Spec,
        original: r#"{"containers":[{"name":"c1","envFrom":[{"prefix":1},{"prefix":2,"value":2}]},{"name":"c2"}]}"#,
        patch: r#"{"$setElementOrder/containers":[{"name":"c1"},{"name":"c2"}],"containers":[{"name":"c1","envFrom":[{"prefix":1,"value":1}]}]}"#,
        expected: Expect::Result(
            r#"{"containers":[{"name":"c1","envFrom":[{"prefix":1,"value":1}]},{"name":"c2"}]}"#,
        ),
    },
    Case {
        description: "replace non merging list nested in merging list with value conflict (three-way)",
        root: Root::Spec,
        original: r#"{"containers":[{"name":"c1","workingDir":"a","envFrom":[{"prefix":1,"value":"c"}]},{"name":"c2","workingDir":"b"}]}"#,
        patch: r#"{"$setElementOrder/containers":[{"name":"c1"},{"name":"c2"}],"containers":[{"name":"c1","envFrom":[{"prefix":1,"value":1}]}]}"#,
        expected: Expect::Result(
            r#"{"containers":[{"name":"c1","workingDir":"a","envFrom":[{"prefix":1,"value":1}]},{"name":"c2","workingDir":"b"}]}"#,
        ),
    },
    Case {
        description: "replace non merging list nested in merging list with deletion conflict (two-way)",
        root: Root::Spec,
        original: r#"{"containers":[{"name":"c1","envFrom":[{"prefix":1},{"prefix":2,"value":2}]},{"name":"c2"}]}"#,
        patch: r#"{"$setElementOrder/containers":[{"name":"c1"},{"name":"c2"}],"containers":[{"name":"c1","envFrom":[{"prefix":1,"value":1}]}]}"#,
        expected: Expect::Result(
            r#"{"containers":[{"name":"c1","envFrom":[{"prefix":1,"value":1}]},{"name":"c2"}]}"#,
        ),
    },
    Case {
        description: "replace non merging list nested in merging list with deletion conflict (three-way)",
        root: Root::Spec,
        original: r#"{"containers":[{"name":"c1","workingDir":"a","envFrom":[{"prefix":2,"value":2}]},{"name":"c2","workingDir":"b"}]}"#,
        patch: r#"{"$setElementOrder/containers":[{"name":"c1"},{"name":"c2"}],"containers":[{"name":"c1","envFrom":[{"prefix":1,"value":1}]}]}"#,
        expected: Expect::Result(
            r#"{"containers":[{"name":"c1","workingDir":"a","envFrom":[{"prefix":1,"value":1}]},{"name":"c2","workingDir":"b"}]}"#,
        ),
    },
    Case {
        description: "add field to map in merging list nested in merging list (two-way)",
        root: Root::Spec,
        original: r#"{"containers":[{"name":"c1","ports":[{"containerPort":1},{"containerPort":2,"protocol":2}]},{"name":"c2"}]}"#,
        patch: r#"{"$setElementOrder/containers":[{"name":"c1"},{"name":"c2"}],"containers":[{"$setElementOrder/ports":[{"containerPort":1},{"containerPort":2}],"name":"c1","ports":[{"containerPort":1,"protocol":1}]}]}"#,
        expected: Expect::Result(
            r#"{"containers":[{"name":"c1","ports":[{"containerPort":1,"protocol":1},{"containerPort":2,"protocol":2}]},{"name":"c2"}]}"#,
        ),
    },
    Case {
        description: "add field to map in merging list nested in merging list (three-way)",
        root: Root::Spec,
        original: r#"{"containers":[{"name":"c1","workingDir":"a","ports":[{"containerPort":1},{"containerPort":2,"protocol":2}]},{"name":"c2","workingDir":"b"}]}"#,
        patch: r#"{"$setElementOrder/containers":[{"name":"c1"},{"name":"c2"}],"containers":[{"$setElementOrder/ports":[{"containerPort":1},{"containerPort":2}],"name":"c1","ports":[{"containerPort":1,"protocol":1}]}]}"#,
        expected: Expect::Result(
            r#"{"containers":[{"name":"c1","workingDir":"a","ports":[{"containerPort":1,"protocol":1},{"containerPort":2,"protocol":2}]},{"name":"c2","workingDir":"b"}]}"#,
        ),
    },
    Case {
        description: "add field to map in merging list nested in merging list with value conflict (two-way)",
        root: Root::Spec,
        original: r#"{"containers":[{"name":"c1","ports":[{"containerPort":1},{"containerPort":2,"protocol":2}]},{"name":"c2"}]}"#,
        patch: r#"{"$setElementOrder/containers":[{"name":"c1"},{"name":"c2"}],"containers":[{"$setElementOrder/ports":[{"containerPort":1},{"containerPort":2}],"name":"c1","ports":[{"containerPort":1,"protocol":1}]}]}"#,
        expected: Expect::Result(
            r#"{"containers":[{"name":"c1","ports":[{"containerPort":1,"protocol":1},{"containerPort":2,"protocol":2}]},{"name":"c2"}]}"#,
        ),
    },
    Case {
        description: "add field to map in merging list nested in merging list with value conflict (three-way)",
        root: Root::Spec,
        original: r#"{"containers":[{"name":"c1","workingDir":"a","ports":[{"containerPort":1,"protocol":"a","hostIP":"c"},{"containerPort":2,"protocol":"b","hostIP":"d"}]},{"name":"c2","workingDir":"b"}]}"#,
        patch: r#"{"$setElementOrder/containers":[{"name":"c1"},{"name":"c2"}],"containers":[{"$setElementOrder/ports":[{"containerPort":1},{"containerPort":2}],"name":"c1","ports":[{"containerPort":1,"protocol":1},{"containerPort":2,"protocol":2}]}]}"#,
        expected: Expect::Result(
            r#"{"containers":[{"name":"c1","workingDir":"a","ports":[{"containerPort":1,"protocol":1,"hostIP":"c"},{"containerPort":2,"protocol":2,"hostIP":"d"}]},{"name":"c2","workingDir":"b"}]}"#,
        ),
    },
    Case {
        description: "add field to map in merging list nested in merging list with deletion conflict (two-way)",
        root: Root::Spec,
        original: r#"{"containers":[{"name":"c1","ports":[{"containerPort":1},{"containerPort":2,"protocol":2}]},{"name":"c2"}]}"#,
        patch: r#"{"$setElementOrder/containers":[{"name":"c1"},{"name":"c2"}],"containers":[{"$setElementOrder/ports":[{"containerPort":1},{"containerPort":2}],"name":"c1","ports":[{"containerPort":1,"protocol":1}]}]}"#,
        expected: Expect::Result(
            r#"{"containers":[{"name":"c1","ports":[{"containerPort":1,"protocol":1},{"containerPort":2,"protocol":2}]},{"name":"c2"}]}"#,
        ),
    },
    Case {
        description: "add field to map in merging list nested in merging list with deletion conflict (three-way)",
        root: Root::Spec,
        original: r#"{"containers":[{"name":"c1","workingDir":"a","ports":[{"containerPort":2,"protocol":2,"hostIP":"d"}]},{"name":"c2","workingDir":"b"}]}"#,
        patch: r#"{"$setElementOrder/containers":[{"name":"c1"},{"name":"c2"}],"containers":[{"$setElementOrder/ports":[{"containerPort":1},{"containerPort":2}],"name":"c1","ports":[{"containerPort":1,"protocol":1}]}]}"#,
        expected: Expect::Result(
            r#"{"containers":[{"name":"c1","workingDir":"a","ports":[{"containerPort":1,"protocol":1},{"containerPort":2,"protocol":2,"hostIP":"d"}]},{"name":"c2","workingDir":"b"}]}"#,
        ),
    },
    Case {
        description: "add field to map in merging list nested in merging list with deletion conflict (two-way)",
        root: Root::Spec,
        original: r#"{"containers":[{"name":"c1","ports":[{"containerPort":1},{"containerPort":2,"protocol":2}]},{"name":"c2"}]}"#,
        patch: r#"{"$setElementOrder/containers":[{"name":"c1"},{"name":"c2"}],"containers":[{"$setElementOrder/ports":[{"containerPort":2},{"containerPort":1}],"name":"c1","ports":[{"containerPort":1,"protocol":1}]}]}"#,
        expected: Expect::Result(
            r#"{"containers":[{"name":"c1","ports":[{"containerPort":2,"protocol":2},{"containerPort":1,"protocol":1}]},{"name":"c2"}]}"#,
        ),
    },
    Case {
        description: "add field to map in merging list nested in merging list with deletion conflict (three-way)",
        root: Root::Spec,
        original: r#"{"containers":[{"name":"c1","workingDir":"a","ports":[{"containerPort":2,"protocol":2,"hostIP":"d"}]},{"name":"c2","workingDir":"b"}]}"#,
        patch: r#"{"$setElementOrder/containers":[{"name":"c1"},{"name":"c2"}],"containers":[{"$setElementOrder/ports":[{"containerPort":2},{"containerPort":1}],"name":"c1","ports":[{"containerPort":1,"protocol":1}]}]}"#,
        expected: Expect::Result(
            r#"{"containers":[{"name":"c1","workingDir":"a","ports":[{"containerPort":2,"protocol":2,"hostIP":"d"},{"containerPort":1,"protocol":1}]},{"name":"c2","workingDir":"b"}]}"#,
        ),
    },
    Case {
        description: "add map to merging list by pointer (two-way)",
        root: Root::Spec,
        original: r#"{"initContainers":[{"name":"c1"}]}"#,
        patch: r#"{"$setElementOrder/initContainers":[{"name":"c1"},{"name":"c2"}],"initContainers":[{"name":"c2"}]}"#,
        expected: Expect::Result(r#"{"initContainers":[{"name":"c1"},{"name":"c2"}]}"#),
    },
    Case {
        description: "add map to merging list by pointer (three-way)",
        root: Root::Spec,
        original: r#"{"initContainers":[{"name":"c1","workingDir":"a"},{"name":"c3"}]}"#,
        patch: r#"{"$setElementOrder/initContainers":[{"name":"c1"},{"name":"c2"}],"initContainers":[{"name":"c2"}]}"#,
        expected: Expect::Result(
            r#"{"initContainers":[{"name":"c1","workingDir":"a"},{"name":"c2"},{"name":"c3"}]}"#,
        ),
    },
    Case {
        description: "add map to merging list by pointer with conflict (two-way)",
        root: Root::Spec,
        original: r#"{"initContainers":[{"name":"c1"}]}"#,
        patch: r#"{"$setElementOrder/initContainers":[{"name":"c1"},{"name":"c2"}],"initContainers":[{"name":"c2"}]}"#,
        expected: Expect::Result(r#"{"initContainers":[{"name":"c1"},{"name":"c2"}]}"#),
    },
    Case {
        description: "add map to merging list by pointer with conflict (three-way)",
        root: Root::Spec,
        original: r#"{"initContainers":[{"name":"c3"}]}"#,
        patch: r#"{"$setElementOrder/initContainers":[{"name":"c1"},{"name":"c2"}],"initContainers":[{"name":"c1"},{"name":"c2"}]}"#,
        expected: Expect::Result(
            r#"{"initContainers":[{"name":"c1"},{"name":"c2"},{"name":"c3"}]}"#,
        ),
    },
    Case {
        description: "add field to map in merging list by pointer (two-way)",
        root: Root::Spec,
        original: r#"{"initContainers":[{"name":"c1","volumeMounts":[{"mountPath":"/m1"},{"mountPath":"/m2","name":2}]},{"name":"c2"}]}"#,
        patch: r#"{"$setElementOrder/initContainers":[{"name":"c1"},{"name":"c2"}],"initContainers":[{"$setElementOrder/volumeMounts":[{"mountPath":"/m1"},{"mountPath":"/m2"}],"name":"c1","volumeMounts":[{"mountPath":"/m1","name":1}]}]}"#,
        expected: Expect::Result(
            r#"{"initContainers":[{"name":"c1","volumeMounts":[{"mountPath":"/m1","name":1},{"mountPath":"/m2","name":2}]},{"name":"c2"}]}"#,
        ),
    },
    Case {
        description: "add field to map in merging list by pointer (three-way)",
        root: Root::Spec,
        original: r#"{"initContainers":[{"name":"c1","workingDir":"a","volumeMounts":[{"mountPath":"/m1","subPath":"a"},{"mountPath":"/m2","name":2,"subPath":"b"}]},{"name":"c2","workingDir":"b"}]}"#,
        patch: r#"{"$setElementOrder/initContainers":[{"name":"c1"},{"name":"c2"}],"initContainers":[{"$setElementOrder/volumeMounts":[{"mountPath":"/m1"},{"mountPath":"/m2"}],"name":"c1","volumeMounts":[{"mountPath":"/m1","name":1}]}]}"#,
        expected: Expect::Result(
            r#"{"initContainers":[{"name":"c1","workingDir":"a","volumeMounts":[{"mountPath":"/m1","name":1,"subPath":"a"},{"mountPath":"/m2","name":2,"subPath":"b"}]},{"name":"c2","workingDir":"b"}]}"#,
        ),
    },
    Case {
        description: "add field to map in merging list by pointer with conflict (two-way)",
        root: Root::Spec,
        original: r#"{"initContainers":[{"name":"c1","volumeMounts":[{"mountPath":"/m1"},{"mountPath":"/m2","name":2}]},{"name":"c2"}]}"#,
        patch: r#"{"$setElementOrder/initContainers":[{"name":"c1"},{"name":"c2"}],"initContainers":[{"$setElementOrder/volumeMounts":[{"mountPath":"/m1"},{"mountPath":"/m2"}],"name":"c1","volumeMounts":[{"mountPath":"/m1","name":1}]}]}"#,
        expected: Expect::Result(
            r#"{"initContainers":[{"name":"c1","volumeMounts":[{"mountPath":"/m1","name":1},{"mountPath":"/m2","name":2}]},{"name":"c2"}]}"#,
        ),
    },
    Case {
        description: "add field to map in merging list by pointer with conflict (three-way)",
        root: Root::Spec,
        original: r#"{"initContainers":[{"name":"c1","workingDir":"a","volumeMounts":[{"mountPath":"/m1","name":"a"},{"mountPath":"/m2","name":2,"subPath":"b"}]},{"name":"c2","workingDir":"b"}]}"#,
        patch: r#"{"$setElementOrder/initContainers":[{"name":"c1"},{"name":"c2"}],"initContainers":[{"$setElementOrder/volumeMounts":[{"mountPath":"/m1"},{"mountPath":"/m2"}],"name":"c1","volumeMounts":[{"mountPath":"/m1","name":1}]}]}"#,
        expected: Expect::Result(
            r#"{"initContainers":[{"name":"c1","workingDir":"a","volumeMounts":[{"mountPath":"/m1","name":1},{"mountPath":"/m2","name":2,"subPath":"b"}]},{"name":"c2","workingDir":"b"}]}"#,
        ),
    },
    Case {
        description: "merge lists of scalars (two-way)",
        root: Root::Meta,
        original: r#"{"finalizers":["example.com/f1","example.com/f2"]}"#,
        patch: r#"{"$setElementOrder/finalizers":["example.com/f1","example.com/f2","example.com/f3"],"finalizers":["example.com/f3"]}"#,
        expected: Expect::Result(
            r#"{"finalizers":["example.com/f1","example.com/f2","example.com/f3"]}"#,
        ),
    },
    Case {
        description: "merge lists of scalars (three-way)",
        root: Root::Meta,
        original: r#"{"finalizers":["example.com/f1","example.com/f2","example.com/f4"]}"#,
        patch: r#"{"$setElementOrder/finalizers":["example.com/f1","example.com/f2","example.com/f3"],"finalizers":["example.com/f3"]}"#,
        expected: Expect::Result(
            r#"{"finalizers":["example.com/f1","example.com/f2","example.com/f3","example.com/f4"]}"#,
        ),
    },
    Case {
        description: "add duplicate field to map in merging int list (two-way)",
        root: Root::Meta,
        original: r#"{"finalizers":["example.com/f1","example.com/f2"]}"#,
        patch: r#"{"$setElementOrder/finalizers":["example.com/f1","example.com/f2","example.com/f3"],"finalizers":["example.com/f3"]}"#,
        expected: Expect::Result(
            r#"{"finalizers":["example.com/f1","example.com/f2","example.com/f3"]}"#,
        ),
    },
    Case {
        description: "add duplicate field to map in merging int list (three-way)",
        root: Root::Meta,
        original: r#"{"finalizers":["example.com/f1","example.com/f2","example.com/f3"]}"#,
        patch: r#"{}"#,
        expected: Expect::Result(
            r#"{"finalizers":["example.com/f1","example.com/f2","example.com/f3"]}"#,
        ),
    },
    Case {
        description: "add an item in a list of primitives and preserve order (two-way)",
        root: Root::Meta,
        original: r#"{"finalizers":["example.com/f1","example.com/f2"]}"#,
        patch: r#"{"$setElementOrder/finalizers":["example.com/f3","example.com/f1","example.com/f2"],"finalizers":["example.com/f3"]}"#,
        expected: Expect::Result(
            r#"{"finalizers":["example.com/f3","example.com/f1","example.com/f2"]}"#,
        ),
    },
    Case {
        description: "add an item in a list of primitives and preserve order (three-way)",
        root: Root::Meta,
        original: r#"{"finalizers":["example.com/f1","example.com/f4","example.com/f2"]}"#,
        patch: r#"{"$setElementOrder/finalizers":["example.com/f3","example.com/f1","example.com/f2"],"finalizers":["example.com/f3"]}"#,
        expected: Expect::Result(
            r#"{"finalizers":["example.com/f3","example.com/f1","example.com/f4","example.com/f2"]}"#,
        ),
    },
    Case {
        description: "delete an item in a list of primitives and preserve order (two-way)",
        root: Root::Meta,
        original: r#"{"finalizers":["example.com/f1","example.com/f2","example.com/f3"]}"#,
        patch: r#"{"$setElementOrder/finalizers":["example.com/f2","example.com/f1"],"$deleteFromPrimitiveList/finalizers":["example.com/f3"]}"#,
        expected: Expect::Result(r#"{"finalizers":["example.com/f2","example.com/f1"]}"#),
    },
    Case {
        description: "delete an item in a list of primitives and preserve order (three-way)",
        root: Root::Meta,
        original: r#"{"finalizers":["example.com/f1","example.com/f2","example.com/f3"]}"#,
        patch: r#"{"$setElementOrder/finalizers":["example.com/f2","example.com/f1"],"$deleteFromPrimitiveList/finalizers":["example.com/f3"]}"#,
        expected: Expect::Result(r#"{"finalizers":["example.com/f2","example.com/f1"]}"#),
    },
    Case {
        description: "add an item in a list and preserve order (two-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2","name":2}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-3"},{"uid":"uid-1"},{"uid":"uid-2"}],"ownerReferences":[{"uid":"uid-3","name":3}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-3","name":3},{"uid":"uid-1"},{"uid":"uid-2","name":2}]}"#,
        ),
    },
    Case {
        description: "add an item in a list and preserve order (three-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1","kind":"a"},{"uid":"uid-2","name":2,"kind":"b"}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-3"},{"uid":"uid-1"},{"uid":"uid-2"}],"ownerReferences":[{"uid":"uid-3","name":3}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-3","name":3},{"uid":"uid-1","kind":"a"},{"uid":"uid-2","name":2,"kind":"b"}]}"#,
        ),
    },
    Case {
        description: "add multiple items in a list and preserve order (two-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2","name":2}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-1"},{"uid":"uid-4"},{"uid":"uid-2"},{"uid":"uid-3"}],"ownerReferences":[{"uid":"uid-4","name":4},{"uid":"uid-3","name":3}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-1"},{"uid":"uid-4","name":4},{"uid":"uid-2","name":2},{"uid":"uid-3","name":3}]}"#,
        ),
    },
    Case {
        description: "add multiple items in a list and preserve order (three-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1","kind":"a"},{"uid":"uid-2","name":2,"kind":"b"}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-1"},{"uid":"uid-4"},{"uid":"uid-2"},{"uid":"uid-3"}],"ownerReferences":[{"uid":"uid-4","name":4},{"uid":"uid-3","name":3}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-1","kind":"a"},{"uid":"uid-4","name":4},{"uid":"uid-2","name":2,"kind":"b"},{"uid":"uid-3","name":3}]}"#,
        ),
    },
    Case {
        description: "delete an item in a list and preserve order (two-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1"},{"uid":"uid-3","name":3},{"uid":"uid-2","name":2}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-2"},{"uid":"uid-1"}],"ownerReferences":[{"uid":"uid-3","$patch":"delete"}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-2","name":2},{"uid":"uid-1"}]}"#,
        ),
    },
    Case {
        description: "delete an item in a list and preserve order (three-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1","kind":"a"},{"uid":"uid-2","name":2,"kind":"b"},{"uid":"uid-3","name":3}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-2"},{"uid":"uid-1"}],"ownerReferences":[{"uid":"uid-3","$patch":"delete"}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-2","name":2,"kind":"b"},{"uid":"uid-1","kind":"a"}]}"#,
        ),
    },
    Case {
        description: "change an item in a list and preserve order (two-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1"},{"uid":"uid-3","name":3},{"uid":"uid-2","name":2}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-2"},{"uid":"uid-3"},{"uid":"uid-1"}],"ownerReferences":[{"uid":"uid-3","name":"x"}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-2","name":2},{"uid":"uid-3","name":"x"},{"uid":"uid-1"}]}"#,
        ),
    },
    Case {
        description: "change an item in a list and preserve order (three-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1","kind":"a"},{"uid":"uid-2","name":2,"kind":"b"},{"uid":"uid-3","name":3}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-2"},{"uid":"uid-3"},{"uid":"uid-1"}],"ownerReferences":[{"uid":"uid-3","name":"x"}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-2","name":2,"kind":"b"},{"uid":"uid-3","name":"x"},{"uid":"uid-1","kind":"a"}]}"#,
        ),
    },
    Case {
        description: "add and delete an item in a list and preserve order (two-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1"},{"uid":"uid-3","name":3},{"uid":"uid-2","name":2}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-4"},{"uid":"uid-2"},{"uid":"uid-1"}],"ownerReferences":[{"uid":"uid-4","name":4},{"uid":"uid-3","$patch":"delete"}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-4","name":4},{"uid":"uid-2","name":2},{"uid":"uid-1"}]}"#,
        ),
    },
    Case {
        description: "add and delete an item in a list and preserve order (three-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1","kind":"a"},{"uid":"uid-2","name":2,"kind":"b"},{"uid":"uid-3","name":3}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-4"},{"uid":"uid-2"},{"uid":"uid-1"}],"ownerReferences":[{"uid":"uid-4","name":4},{"uid":"uid-3","$patch":"delete"}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-4","name":4},{"uid":"uid-2","name":2,"kind":"b"},{"uid":"uid-1","kind":"a"}]}"#,
        ),
    },
    Case {
        description: "set elements order in a list (two-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1"},{"uid":"uid-3","name":3},{"uid":"uid-4","name":4},{"uid":"uid-2","name":2}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-4"},{"uid":"uid-2"},{"uid":"uid-3"},{"uid":"uid-1"}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-4","name":4},{"uid":"uid-2","name":2},{"uid":"uid-3","name":3},{"uid":"uid-1"}]}"#,
        ),
    },
    Case {
        description: "set elements order in a list (three-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1","kind":"a"},{"uid":"uid-3","name":3},{"uid":"uid-4","name":4},{"uid":"uid-2","name":2}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-4"},{"uid":"uid-2"},{"uid":"uid-3"},{"uid":"uid-1"}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-4","name":4},{"uid":"uid-2","name":2},{"uid":"uid-3","name":3},{"uid":"uid-1","kind":"a"}]}"#,
        ),
    },
    Case {
        description: "set elements order in a list with server-only items (two-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1"},{"uid":"uid-3","name":3},{"uid":"uid-4","name":4},{"uid":"uid-2","name":2}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-4"},{"uid":"uid-2"},{"uid":"uid-3"},{"uid":"uid-1"}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-4","name":4},{"uid":"uid-2","name":2},{"uid":"uid-3","name":3},{"uid":"uid-1"}]}"#,
        ),
    },
    Case {
        description: "set elements order in a list with server-only items (three-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1","kind":"a"},{"uid":"uid-3","name":3},{"uid":"uid-4","name":4},{"uid":"uid-2","name":2},{"uid":"uid-9"}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-4"},{"uid":"uid-2"},{"uid":"uid-3"},{"uid":"uid-1"}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-4","name":4},{"uid":"uid-2","name":2},{"uid":"uid-3","name":3},{"uid":"uid-1","kind":"a"},{"uid":"uid-9"}]}"#,
        ),
    },
    Case {
        description: "set elements order in a list with server-only items 2 (two-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2","name":2},{"uid":"uid-3","name":3},{"uid":"uid-4","name":4}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-2"},{"uid":"uid-1"},{"uid":"uid-4"},{"uid":"uid-3"}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-2","name":2},{"uid":"uid-1"},{"uid":"uid-4","name":4},{"uid":"uid-3","name":3}]}"#,
        ),
    },
    Case {
        description: "set elements order in a list with server-only items 2 (three-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1","kind":"a"},{"uid":"uid-2","name":2},{"uid":"uid-9"},{"uid":"uid-3","name":3},{"uid":"uid-4","name":4}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-2"},{"uid":"uid-1"},{"uid":"uid-4"},{"uid":"uid-3"}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-2","name":2},{"uid":"uid-1","kind":"a"},{"uid":"uid-9"},{"uid":"uid-4","name":4},{"uid":"uid-3","name":3}]}"#,
        ),
    },
    Case {
        description: "set elements order in a list with server-only items 3 (two-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2","name":2},{"uid":"uid-3","name":3},{"uid":"uid-4","name":4}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-2"},{"uid":"uid-1"},{"uid":"uid-4"},{"uid":"uid-3"}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-2","name":2},{"uid":"uid-1"},{"uid":"uid-4","name":4},{"uid":"uid-3","name":3}]}"#,
        ),
    },
    Case {
        description: "set elements order in a list with server-only items 3 (three-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1","kind":"a"},{"uid":"uid-2","name":2},{"uid":"uid-7"},{"uid":"uid-9"},{"uid":"uid-8"},{"uid":"uid-3","name":3},{"uid":"uid-4","name":4}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-2"},{"uid":"uid-1"},{"uid":"uid-4"},{"uid":"uid-3"}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-2","name":2},{"uid":"uid-1","kind":"a"},{"uid":"uid-7"},{"uid":"uid-9"},{"uid":"uid-8"},{"uid":"uid-4","name":4},{"uid":"uid-3","name":3}]}"#,
        ),
    },
    Case {
        description: "add an item in a int list and preserve order (two-way)",
        root: Root::Meta,
        original: r#"{"finalizers":["example.com/f1","example.com/f2"]}"#,
        patch: r#"{"$setElementOrder/finalizers":["example.com/f3","example.com/f1","example.com/f2"],"finalizers":["example.com/f3"]}"#,
        expected: Expect::Result(
            r#"{"finalizers":["example.com/f3","example.com/f1","example.com/f2"]}"#,
        ),
    },
    Case {
        description: "add an item in a int list and preserve order (three-way)",
        root: Root::Meta,
        original: r#"{"finalizers":["example.com/f1","example.com/f2"]}"#,
        patch: r#"{"$setElementOrder/finalizers":["example.com/f3","example.com/f1","example.com/f2"],"finalizers":["example.com/f3"]}"#,
        expected: Expect::Result(
            r#"{"finalizers":["example.com/f3","example.com/f1","example.com/f2"]}"#,
        ),
    },
    Case {
        description: "add multiple items in a int list and preserve order (two-way)",
        root: Root::Meta,
        original: r#"{"finalizers":["example.com/f1","example.com/f2"]}"#,
        patch: r#"{"$setElementOrder/finalizers":["example.com/f1","example.com/f4","example.com/f2","example.com/f3"],"finalizers":["example.com/f4","example.com/f3"]}"#,
        expected: Expect::Result(
            r#"{"finalizers":["example.com/f1","example.com/f4","example.com/f2","example.com/f3"]}"#,
        ),
    },
    Case {
        description: "add multiple items in a int list and preserve order (three-way)",
        root: Root::Meta,
        original: r#"{"finalizers":["example.com/f1","example.com/f2"]}"#,
        patch: r#"{"$setElementOrder/finalizers":["example.com/f1","example.com/f4","example.com/f2","example.com/f3"],"finalizers":["example.com/f4","example.com/f3"]}"#,
        expected: Expect::Result(
            r#"{"finalizers":["example.com/f1","example.com/f4","example.com/f2","example.com/f3"]}"#,
        ),
    },
    Case {
        description: "delete an item in a int list and preserve order (two-way)",
        root: Root::Meta,
        original: r#"{"finalizers":["example.com/f1","example.com/f3","example.com/f2"]}"#,
        patch: r#"{"$setElementOrder/finalizers":["example.com/f2","example.com/f1"],"$deleteFromPrimitiveList/finalizers":["example.com/f3"]}"#,
        expected: Expect::Result(r#"{"finalizers":["example.com/f2","example.com/f1"]}"#),
    },
    Case {
        description: "delete an item in a int list and preserve order (three-way)",
        root: Root::Meta,
        original: r#"{"finalizers":["example.com/f1","example.com/f2","example.com/f3"]}"#,
        patch: r#"{"$setElementOrder/finalizers":["example.com/f2","example.com/f1"],"$deleteFromPrimitiveList/finalizers":["example.com/f3"]}"#,
        expected: Expect::Result(r#"{"finalizers":["example.com/f2","example.com/f1"]}"#),
    },
    Case {
        description: "add and delete an item in a int list and preserve order (two-way)",
        root: Root::Meta,
        original: r#"{"finalizers":["example.com/f1","example.com/f3","example.com/f2"]}"#,
        patch: r#"{"$setElementOrder/finalizers":["example.com/f4","example.com/f2","example.com/f1"],"finalizers":["example.com/f4"],"$deleteFromPrimitiveList/finalizers":["example.com/f3"]}"#,
        expected: Expect::Result(
            r#"{"finalizers":["example.com/f4","example.com/f2","example.com/f1"]}"#,
        ),
    },
    Case {
        description: "add and delete an item in a int list and preserve order (three-way)",
        root: Root::Meta,
        original: r#"{"finalizers":["example.com/f1","example.com/f2","example.com/f3"]}"#,
        patch: r#"{"$setElementOrder/finalizers":["example.com/f4","example.com/f2","example.com/f1"],"finalizers":["example.com/f4"],"$deleteFromPrimitiveList/finalizers":["example.com/f3"]}"#,
        expected: Expect::Result(
            r#"{"finalizers":["example.com/f4","example.com/f2","example.com/f1"]}"#,
        ),
    },
    Case {
        description: "set elements order in a int list (two-way)",
        root: Root::Meta,
        original: r#"{"finalizers":["example.com/f1","example.com/f3","example.com/f4","example.com/f2"]}"#,
        patch: r#"{"$setElementOrder/finalizers":["example.com/f4","example.com/f2","example.com/f3","example.com/f1"]}"#,
        expected: Expect::Result(
            r#"{"finalizers":["example.com/f4","example.com/f2","example.com/f3","example.com/f1"]}"#,
        ),
    },
    Case {
        description: "set elements order in a int list (three-way)",
        root: Root::Meta,
        original: r#"{"finalizers":["example.com/f1","example.com/f3","example.com/f4","example.com/f2"]}"#,
        patch: r#"{"$setElementOrder/finalizers":["example.com/f4","example.com/f2","example.com/f3","example.com/f1"]}"#,
        expected: Expect::Result(
            r#"{"finalizers":["example.com/f4","example.com/f2","example.com/f3","example.com/f1"]}"#,
        ),
    },
    Case {
        description: "set elements order in a int list with server-only items (two-way)",
        root: Root::Meta,
        original: r#"{"finalizers":["example.com/f1","example.com/f3","example.com/f4","example.com/f2"]}"#,
        patch: r#"{"$setElementOrder/finalizers":["example.com/f4","example.com/f2","example.com/f3","example.com/f1"]}"#,
        expected: Expect::Result(
            r#"{"finalizers":["example.com/f4","example.com/f2","example.com/f3","example.com/f1"]}"#,
        ),
    },
    Case {
        description: "set elements order in a int list with server-only items (three-way)",
        root: Root::Meta,
        original: r#"{"finalizers":["example.com/f1","example.com/f3","example.com/f4","example.com/f2","example.com/f9"]}"#,
        patch: r#"{"$setElementOrder/finalizers":["example.com/f4","example.com/f2","example.com/f3","example.com/f1"]}"#,
        expected: Expect::Result(
            r#"{"finalizers":["example.com/f4","example.com/f2","example.com/f3","example.com/f1","example.com/f9"]}"#,
        ),
    },
    Case {
        description: "set elements order in a int list with server-only items 2 (two-way)",
        root: Root::Meta,
        original: r#"{"finalizers":["example.com/f1","example.com/f2","example.com/f3","example.com/f4"]}"#,
        patch: r#"{"$setElementOrder/finalizers":["example.com/f2","example.com/f1","example.com/f4","example.com/f3"]}"#,
        expected: Expect::Result(
            r#"{"finalizers":["example.com/f2","example.com/f1","example.com/f4","example.com/f3"]}"#,
        ),
    },
    Case {
        description: "set elements order in a int list with server-only items 2 (three-way)",
        root: Root::Meta,
        original: r#"{"finalizers":["example.com/f1","example.com/f2","example.com/f9","example.com/f3","example.com/f4"]}"#,
        patch: r#"{"$setElementOrder/finalizers":["example.com/f2","example.com/f1","example.com/f4","example.com/f3"]}"#,
        expected: Expect::Result(
            r#"{"finalizers":["example.com/f2","example.com/f1","example.com/f9","example.com/f4","example.com/f3"]}"#,
        ),
    },
    Case {
        description: "set elements order in a int list with server-only items 3 (two-way)",
        root: Root::Meta,
        original: r#"{"finalizers":["example.com/f1","example.com/f2","example.com/f3","example.com/f4"]}"#,
        patch: r#"{"$setElementOrder/finalizers":["example.com/f2","example.com/f1","example.com/f4","example.com/f3"]}"#,
        expected: Expect::Result(
            r#"{"finalizers":["example.com/f2","example.com/f1","example.com/f4","example.com/f3"]}"#,
        ),
    },
    Case {
        description: "set elements order in a int list with server-only items 3 (three-way)",
        root: Root::Meta,
        original: r#"{"finalizers":["example.com/f1","example.com/f2","example.com/f7","example.com/f9","example.com/f8","example.com/f3","example.com/f4"]}"#,
        patch: r#"{"$setElementOrder/finalizers":["example.com/f2","example.com/f1","example.com/f4","example.com/f3"]}"#,
        expected: Expect::Result(
            r#"{"finalizers":["example.com/f2","example.com/f1","example.com/f7","example.com/f9","example.com/f8","example.com/f4","example.com/f3"]}"#,
        ),
    },
    Case {
        description: "behavior of set element order for a merging list with duplicate (two-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2","name":"dup1"},{"uid":"uid-3"},{"uid":"uid-2","name":"dup2"},{"uid":"uid-4"}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-2"},{"uid":"uid-1"},{"uid":"uid-4"},{"uid":"uid-3"},{"uid":"uid-2"}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-2","name":"dup1"},{"uid":"uid-2","name":"dup2"},{"uid":"uid-1"},{"uid":"uid-4"},{"uid":"uid-3"}]}"#,
        ),
    },
    Case {
        description: "behavior of set element order for a merging list with duplicate (three-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2","name":"dup1"},{"uid":"uid-3"},{"uid":"uid-2","name":"dup2"},{"uid":"uid-4"}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-2"},{"uid":"uid-1"},{"uid":"uid-4"},{"uid":"uid-3"},{"uid":"uid-2"}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-2","name":"dup1"},{"uid":"uid-2","name":"dup2"},{"uid":"uid-1"},{"uid":"uid-4"},{"uid":"uid-3"}]}"#,
        ),
    },
    Case {
        description: "behavior of set element order for a merging int list with duplicate (two-way)",
        root: Root::Meta,
        original: r#"{"finalizers":["example.com/f1","example.com/f2","example.com/f3","example.com/f2","example.com/f4"]}"#,
        patch: r#"{"$setElementOrder/finalizers":["example.com/f2","example.com/f1","example.com/f4","example.com/f3","example.com/f2"]}"#,
        expected: Expect::Result(
            r#"{"finalizers":["example.com/f2","example.com/f2","example.com/f1","example.com/f4","example.com/f3"]}"#,
        ),
    },
    Case {
        description: "behavior of set element order for a merging int list with duplicate (three-way)",
        root: Root::Meta,
        original: r#"{"finalizers":["example.com/f1","example.com/f2","example.com/f3","example.com/f2","example.com/f4"]}"#,
        patch: r#"{"$setElementOrder/finalizers":["example.com/f2","example.com/f1","example.com/f4","example.com/f3","example.com/f2"]}"#,
        expected: Expect::Result(
            r#"{"finalizers":["example.com/f2","example.com/f2","example.com/f1","example.com/f4","example.com/f3"]}"#,
        ),
    },
    Case {
        description: "retainKeys map should clear defaulted field (two-way)",
        root: Root::Pod,
        original: r#"{}"#,
        patch: r#"{"metadata":{"generateName":"bar"}}"#,
        expected: Expect::Result(r#"{"metadata":{"generateName":"bar"}}"#),
    },
    Case {
        description: "retainKeys map should clear defaulted field (three-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"namespace":"foo"}}"#,
        patch: r#"{"metadata":{"$retainKeys":["generateName"],"generateName":"bar"}}"#,
        expected: Expect::Result(r#"{"metadata":{"generateName":"bar"}}"#),
    },
    Case {
        description: "retainKeys map should clear defaulted field with conflict (discriminated union) (two-way)",
        root: Root::Pod,
        original: r#"{}"#,
        patch: r#"{"metadata":{"name":"type2","generateName":"bar"}}"#,
        expected: Expect::Result(r#"{"metadata":{"name":"type2","generateName":"bar"}}"#),
    },
    Case {
        description: "retainKeys map should clear defaulted field with conflict (discriminated union) (three-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"type1","namespace":"foo"}}"#,
        patch: r#"{"metadata":{"$retainKeys":["name","generateName"],"name":"type2","generateName":"bar"}}"#,
        expected: Expect::Result(r#"{"metadata":{"name":"type2","generateName":"bar"}}"#),
    },
    Case {
        description: "retainKeys map adds a field (two-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo"}}"#,
        patch: r#"{"metadata":{"$retainKeys":["name","namespace"],"namespace":"bar"}}"#,
        expected: Expect::Result(r#"{"metadata":{"name":"foo","namespace":"bar"}}"#),
    },
    Case {
        description: "retainKeys map adds a field (three-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo"}}"#,
        patch: r#"{"metadata":{"$retainKeys":["name","namespace"],"namespace":"bar"}}"#,
        expected: Expect::Result(r#"{"metadata":{"name":"foo","namespace":"bar"}}"#),
    },
    Case {
        description: "retainKeys map adds a field and clear a field (two-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo"}}"#,
        patch: r#"{"metadata":{"$retainKeys":["name","namespace"],"namespace":"bar"}}"#,
        expected: Expect::Result(r#"{"metadata":{"name":"foo","namespace":"bar"}}"#),
    },
    Case {
        description: "retainKeys map adds a field and clear a field (three-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","generateName":"a"}}"#,
        patch: r#"{"metadata":{"$retainKeys":["name","namespace"],"namespace":"bar"}}"#,
        expected: Expect::Result(r#"{"metadata":{"name":"foo","namespace":"bar"}}"#),
    },
    Case {
        description: "retainKeys map deletes a field (two-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","namespace":"bar"}}"#,
        patch: r#"{"metadata":{"$retainKeys":["name"],"namespace":null}}"#,
        expected: Expect::Result(r#"{"metadata":{"name":"foo"}}"#),
    },
    Case {
        description: "retainKeys map deletes a field (three-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","namespace":"bar"}}"#,
        patch: r#"{"metadata":{"$retainKeys":["name"],"namespace":null}}"#,
        expected: Expect::Result(r#"{"metadata":{"name":"foo"}}"#),
    },
    Case {
        description: "retainKeys map deletes a field and clears a field (two-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","namespace":"bar"}}"#,
        patch: r#"{"metadata":{"$retainKeys":["name"],"namespace":null}}"#,
        expected: Expect::Result(r#"{"metadata":{"name":"foo"}}"#),
    },
    Case {
        description: "retainKeys map deletes a field and clears a field (three-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","namespace":"bar","generateName":"a"}}"#,
        patch: r#"{"metadata":{"$retainKeys":["name"],"namespace":null}}"#,
        expected: Expect::Result(r#"{"metadata":{"name":"foo"}}"#),
    },
    Case {
        description: "retainKeys map clears a field (two-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","namespace":"bar"}}"#,
        patch: r#"{}"#,
        expected: Expect::Result(r#"{"metadata":{"name":"foo","namespace":"bar"}}"#),
    },
    Case {
        description: "retainKeys map clears a field (three-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","namespace":"bar","generateName":"a"}}"#,
        patch: r#"{"metadata":{"$retainKeys":["name","namespace"]}}"#,
        expected: Expect::Result(r#"{"metadata":{"name":"foo","namespace":"bar"}}"#),
    },
    Case {
        description: "retainKeys map nested map with no change (two-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","labels":{"key1":"a"}}}"#,
        patch: r#"{"metadata":{"$retainKeys":["name","labels","namespace"],"namespace":"bar"}}"#,
        expected: Expect::Result(
            r#"{"metadata":{"name":"foo","namespace":"bar","labels":{"key1":"a"}}}"#,
        ),
    },
    Case {
        description: "retainKeys map nested map with no change (three-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","labels":{"key1":"a"}}}"#,
        patch: r#"{"metadata":{"$retainKeys":["name","labels","namespace"],"namespace":"bar"}}"#,
        expected: Expect::Result(
            r#"{"metadata":{"name":"foo","namespace":"bar","labels":{"key1":"a"}}}"#,
        ),
    },
    Case {
        description: "retainKeys map adds a field in a nested map (two-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","namespace":"bar","labels":{"key1":"a"}}}"#,
        patch: r#"{"metadata":{"$retainKeys":["name","labels","namespace"],"labels":{"key2":"b"}}}"#,
        expected: Expect::Result(
            r#"{"metadata":{"name":"foo","namespace":"bar","labels":{"key1":"a","key2":"b"}}}"#,
        ),
    },
    Case {
        description: "retainKeys map adds a field in a nested map (three-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","namespace":"bar","labels":{"key1":"a","key3":"c"}}}"#,
        patch: r#"{"metadata":{"$retainKeys":["name","labels","namespace"],"labels":{"key2":"b"}}}"#,
        expected: Expect::Result(
            r#"{"metadata":{"name":"foo","namespace":"bar","labels":{"key1":"a","key2":"b","key3":"c"}}}"#,
        ),
    },
    Case {
        description: "retainKeys map deletes a field in a nested map (two-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","namespace":"bar","labels":{"key1":"a","key2":"b"}}}"#,
        patch: r#"{"metadata":{"$retainKeys":["name","labels","namespace"],"labels":{"key2":null}}}"#,
        expected: Expect::Result(
            r#"{"metadata":{"name":"foo","namespace":"bar","labels":{"key1":"a"}}}"#,
        ),
    },
    Case {
        description: "retainKeys map deletes a field in a nested map (three-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","namespace":"bar","labels":{"key1":"a","key2":"b","key3":"c"}}}"#,
        patch: r#"{"metadata":{"$retainKeys":["name","labels","namespace"],"labels":{"key2":null}}}"#,
        expected: Expect::Result(
            r#"{"metadata":{"name":"foo","namespace":"bar","labels":{"key1":"a","key3":"c"}}}"#,
        ),
    },
    Case {
        description: "retainKeys map changes a field in a nested map (two-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","namespace":"bar","labels":{"key1":"a","key2":"b"}}}"#,
        patch: r#"{"metadata":{"$retainKeys":["name","labels","namespace"],"labels":{"key1":"x"}}}"#,
        expected: Expect::Result(
            r#"{"metadata":{"name":"foo","namespace":"bar","labels":{"key1":"x","key2":"b"}}}"#,
        ),
    },
    Case {
        description: "retainKeys map changes a field in a nested map (three-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","namespace":"bar","labels":{"key1":"a","key2":"b","key3":"c"}}}"#,
        patch: r#"{"metadata":{"$retainKeys":["name","labels","namespace"],"labels":{"key1":"x"}}}"#,
        expected: Expect::Result(
            r#"{"metadata":{"name":"foo","namespace":"bar","labels":{"key1":"x","key2":"b","key3":"c"}}}"#,
        ),
    },
    Case {
        description: "retainKeys map changes a field in a nested map with conflict (two-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","namespace":"bar","labels":{"key1":"old","key2":"b"}}}"#,
        patch: r#"{"metadata":{"$retainKeys":["name","labels","namespace"],"labels":{"key1":"modified"}}}"#,
        expected: Expect::Result(
            r#"{"metadata":{"name":"foo","namespace":"bar","labels":{"key1":"modified","key2":"b"}}}"#,
        ),
    },
    Case {
        description: "retainKeys map changes a field in a nested map with conflict (three-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","namespace":"bar","labels":{"key1":"new","key2":"b","key3":"c"}}}"#,
        patch: r#"{"metadata":{"$retainKeys":["name","labels","namespace"],"labels":{"key1":"modified"}}}"#,
        expected: Expect::Result(
            r#"{"metadata":{"name":"foo","namespace":"bar","labels":{"key1":"modified","key2":"b","key3":"c"}}}"#,
        ),
    },
    Case {
        description: "retainKeys map replaces non-merging list (two-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","namespace":"bar","managedFields":[{"manager":"a"},{"manager":"b"}]}}"#,
        patch: r#"{"metadata":{"$retainKeys":["name","managedFields","namespace"],"managedFields":[{"manager":"a"},{"manager":"c"},{"manager":"b"}]}}"#,
        expected: Expect::Result(
            r#"{"metadata":{"name":"foo","namespace":"bar","managedFields":[{"manager":"a"},{"manager":"c"},{"manager":"b"}]}}"#,
        ),
    },
    Case {
        description: "retainKeys map replaces non-merging list (three-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","namespace":"bar","managedFields":[{"manager":"a"},{"manager":"b"}]}}"#,
        patch: r#"{"metadata":{"$retainKeys":["name","managedFields","namespace"],"managedFields":[{"manager":"a"},{"manager":"c"},{"manager":"b"}]}}"#,
        expected: Expect::Result(
            r#"{"metadata":{"name":"foo","namespace":"bar","managedFields":[{"manager":"a"},{"manager":"c"},{"manager":"b"}]}}"#,
        ),
    },
    Case {
        description: "retainKeys map nested non-merging list with no change (two-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","managedFields":[{"manager":"a"},{"manager":"b"}]}}"#,
        patch: r#"{"metadata":{"$retainKeys":["name","managedFields","namespace"],"namespace":"bar"}}"#,
        expected: Expect::Result(
            r#"{"metadata":{"name":"foo","namespace":"bar","managedFields":[{"manager":"a"},{"manager":"b"}]}}"#,
        ),
    },
    Case {
        description: "retainKeys map nested non-merging list with no change (three-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","managedFields":[{"manager":"a"},{"manager":"b"}]}}"#,
        patch: r#"{"metadata":{"$retainKeys":["name","managedFields","namespace"],"namespace":"bar"}}"#,
        expected: Expect::Result(
            r#"{"metadata":{"name":"foo","namespace":"bar","managedFields":[{"manager":"a"},{"manager":"b"}]}}"#,
        ),
    },
    Case {
        description: "retainKeys map nested non-merging list with no change with conflict (two-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","managedFields":[{"manager":"a"},{"manager":"b"}]}}"#,
        patch: r#"{"metadata":{"$retainKeys":["name","managedFields","namespace"],"namespace":"bar"}}"#,
        expected: Expect::Result(
            r#"{"metadata":{"name":"foo","namespace":"bar","managedFields":[{"manager":"a"},{"manager":"b"}]}}"#,
        ),
    },
    Case {
        description: "retainKeys map nested non-merging list with no change with conflict (three-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","managedFields":[{"manager":"a"},{"manager":"b"},{"manager":"c"}]}}"#,
        patch: r#"{"metadata":{"$retainKeys":["name","managedFields","namespace"],"namespace":"bar","managedFields":[{"manager":"a"},{"manager":"b"}]}}"#,
        expected: Expect::Result(
            r#"{"metadata":{"name":"foo","namespace":"bar","managedFields":[{"manager":"a"},{"manager":"b"}]}}"#,
        ),
    },
    Case {
        description: "retainKeys map deletes nested non-merging list (two-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","managedFields":[{"manager":"a"},{"manager":"b"}]}}"#,
        patch: r#"{"metadata":{"$retainKeys":["name","namespace"],"namespace":"bar","managedFields":null}}"#,
        expected: Expect::Result(r#"{"metadata":{"name":"foo","namespace":"bar"}}"#),
    },
    Case {
        description: "retainKeys map deletes nested non-merging list (three-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","managedFields":[{"manager":"a"},{"manager":"b"}]}}"#,
        patch: r#"{"metadata":{"$retainKeys":["name","namespace"],"namespace":"bar","managedFields":null}}"#,
        expected: Expect::Result(r#"{"metadata":{"name":"foo","namespace":"bar"}}"#),
    },
    Case {
        description: "retainKeys map delete nested non-merging list with conflict (two-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","managedFields":[{"manager":"a"},{"manager":"b"}]}}"#,
        patch: r#"{"metadata":{"$retainKeys":["name","namespace"],"namespace":"bar","managedFields":null}}"#,
        expected: Expect::Result(r#"{"metadata":{"name":"foo","namespace":"bar"}}"#),
    },
    Case {
        description: "retainKeys map delete nested non-merging list with conflict (three-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","managedFields":[{"manager":"a"},{"manager":"b"},{"manager":"c"}]}}"#,
        patch: r#"{"metadata":{"$retainKeys":["name","namespace"],"namespace":"bar","managedFields":null}}"#,
        expected: Expect::Result(r#"{"metadata":{"name":"foo","namespace":"bar"}}"#),
    },
    Case {
        description: "retainKeys map nested merging int list with no change (two-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","finalizers":["example.com/f1","example.com/f2"]}}"#,
        patch: r#"{"metadata":{"$retainKeys":["finalizers","name","namespace"],"namespace":"bar"}}"#,
        expected: Expect::Result(
            r#"{"metadata":{"name":"foo","namespace":"bar","finalizers":["example.com/f1","example.com/f2"]}}"#,
        ),
    },
    Case {
        description: "retainKeys map nested merging int list with no change (three-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","finalizers":["example.com/f1","example.com/f2","example.com/f3"]}}"#,
        patch: r#"{"metadata":{"$retainKeys":["finalizers","name","namespace"],"$setElementOrder/finalizers":["example.com/f1","example.com/f2"],"namespace":"bar"}}"#,
        expected: Expect::Result(
            r#"{"metadata":{"name":"foo","namespace":"bar","finalizers":["example.com/f1","example.com/f2","example.com/f3"]}}"#,
        ),
    },
    Case {
        description: "retainKeys map adds an item in nested merging int list (two-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","finalizers":["example.com/f1","example.com/f2"]}}"#,
        patch: r#"{"metadata":{"$setElementOrder/finalizers":["example.com/f1","example.com/f2","example.com/f4"],"$retainKeys":["finalizers","name"],"finalizers":["example.com/f4"]}}"#,
        expected: Expect::Result(
            r#"{"metadata":{"name":"foo","finalizers":["example.com/f1","example.com/f2","example.com/f4"]}}"#,
        ),
    },
    Case {
        description: "retainKeys map adds an item in nested merging int list (three-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","finalizers":["example.com/f1","example.com/f2","example.com/f3"]}}"#,
        patch: r#"{"metadata":{"$setElementOrder/finalizers":["example.com/f1","example.com/f2","example.com/f4"],"$retainKeys":["finalizers","name"],"finalizers":["example.com/f4"]}}"#,
        expected: Expect::Result(
            r#"{"metadata":{"name":"foo","finalizers":["example.com/f1","example.com/f2","example.com/f4","example.com/f3"]}}"#,
        ),
    },
    Case {
        description: "retainKeys map deletes an item in nested merging int list (two-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","finalizers":["example.com/f1","example.com/f2","example.com/f3"]}}"#,
        patch: r#"{"metadata":{"$retainKeys":["finalizers","name"],"$deleteFromPrimitiveList/finalizers":["example.com/f2"],"$setElementOrder/finalizers":["example.com/f1","example.com/f3"]}}"#,
        expected: Expect::Result(
            r#"{"metadata":{"name":"foo","finalizers":["example.com/f1","example.com/f3"]}}"#,
        ),
    },
    Case {
        description: "retainKeys map deletes an item in nested merging int list (three-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","finalizers":["example.com/f1","example.com/f2","example.com/f3","example.com/f4"]}}"#,
        patch: r#"{"metadata":{"$retainKeys":["finalizers","name"],"$deleteFromPrimitiveList/finalizers":["example.com/f2"],"$setElementOrder/finalizers":["example.com/f1","example.com/f3"]}}"#,
        expected: Expect::Result(
            r#"{"metadata":{"name":"foo","finalizers":["example.com/f1","example.com/f3","example.com/f4"]}}"#,
        ),
    },
    Case {
        description: "retainKeys map adds an item and deletes an item in nested merging int list (two-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","finalizers":["example.com/f1","example.com/f2","example.com/f3"]}}"#,
        patch: r#"{"metadata":{"$retainKeys":["finalizers","name"],"finalizers":["example.com/f5"],"$deleteFromPrimitiveList/finalizers":["example.com/f2"],"$setElementOrder/finalizers":["example.com/f1","example.com/f3","example.com/f5"]}}"#,
        expected: Expect::Result(
            r#"{"metadata":{"name":"foo","finalizers":["example.com/f1","example.com/f3","example.com/f5"]}}"#,
        ),
    },
    Case {
        description: "retainKeys map adds an item and deletes an item in nested merging int list (three-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","finalizers":["example.com/f1","example.com/f2","example.com/f3","example.com/f4"]}}"#,
        patch: r#"{"metadata":{"$retainKeys":["finalizers","name"],"finalizers":["example.com/f5"],"$deleteFromPrimitiveList/finalizers":["example.com/f2"],"$setElementOrder/finalizers":["example.com/f1","example.com/f3","example.com/f5"]}}"#,
        expected: Expect::Result(
            r#"{"metadata":{"name":"foo","finalizers":["example.com/f1","example.com/f3","example.com/f5","example.com/f4"]}}"#,
        ),
    },
    Case {
        description: "retainKeys map deletes nested merging int list (two-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","finalizers":["example.com/f1","example.com/f2","example.com/f3"]}}"#,
        patch: r#"{"metadata":{"$retainKeys":["name"],"finalizers":null}}"#,
        expected: Expect::Result(r#"{"metadata":{"name":"foo"}}"#),
    },
    Case {
        description: "retainKeys map deletes nested merging int list (three-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","finalizers":["example.com/f1","example.com/f2","example.com/f3"]}}"#,
        patch: r#"{"metadata":{"$retainKeys":["name"],"finalizers":null}}"#,
        expected: Expect::Result(r#"{"metadata":{"name":"foo"}}"#),
    },
    Case {
        description: "retainKeys map nested merging list with no change (two-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","ownerReferences":[{"uid":"a"},{"uid":"b"}]}}"#,
        patch: r#"{"metadata":{"$retainKeys":["ownerReferences","name","namespace"],"namespace":"bar"}}"#,
        expected: Expect::Result(
            r#"{"metadata":{"name":"foo","namespace":"bar","ownerReferences":[{"uid":"a"},{"uid":"b"}]}}"#,
        ),
    },
    Case {
        description: "retainKeys map nested merging list with no change (three-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","ownerReferences":[{"uid":"a"},{"uid":"b"},{"uid":"c"}]}}"#,
        patch: r#"{"metadata":{"$retainKeys":["ownerReferences","name","namespace"],"$setElementOrder/ownerReferences":[{"uid":"a"},{"uid":"b"}],"namespace":"bar"}}"#,
        expected: Expect::Result(
            r#"{"metadata":{"name":"foo","namespace":"bar","ownerReferences":[{"uid":"a"},{"uid":"b"},{"uid":"c"}]}}"#,
        ),
    },
    Case {
        description: "retainKeys map adds an item in nested merging list (two-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","ownerReferences":[{"uid":"a"},{"uid":"b"}]}}"#,
        patch: r#"{"metadata":{"$retainKeys":["ownerReferences","name"],"$setElementOrder/ownerReferences":[{"uid":"a"},{"uid":"b"},{"uid":"c"}],"ownerReferences":[{"uid":"c"}]}}"#,
        expected: Expect::Result(
            r#"{"metadata":{"name":"foo","ownerReferences":[{"uid":"a"},{"uid":"b"},{"uid":"c"}]}}"#,
        ),
    },
    Case {
        description: "retainKeys map adds an item in nested merging list (three-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","ownerReferences":[{"uid":"a"},{"uid":"b"},{"uid":"x"}]}}"#,
        patch: r#"{"metadata":{"$retainKeys":["ownerReferences","name"],"$setElementOrder/ownerReferences":[{"uid":"a"},{"uid":"b"},{"uid":"c"}],"ownerReferences":[{"uid":"c"}]}}"#,
        expected: Expect::Result(
            r#"{"metadata":{"name":"foo","ownerReferences":[{"uid":"a"},{"uid":"b"},{"uid":"c"},{"uid":"x"}]}}"#,
        ),
    },
    Case {
        description: "retainKeys map changes an item in nested merging list (two-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","ownerReferences":[{"uid":"a"},{"uid":"b","name":"foo"}]}}"#,
        patch: r#"{"metadata":{"$retainKeys":["ownerReferences","name"],"$setElementOrder/ownerReferences":[{"uid":"a"},{"uid":"b"}],"ownerReferences":[{"uid":"b","name":"bar"}]}}"#,
        expected: Expect::Result(
            r#"{"metadata":{"name":"foo","ownerReferences":[{"uid":"a"},{"uid":"b","name":"bar"}]}}"#,
        ),
    },
    Case {
        description: "retainKeys map changes an item in nested merging list (three-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","ownerReferences":[{"uid":"a"},{"uid":"b","name":"foo"},{"uid":"x"}]}}"#,
        patch: r#"{"metadata":{"$retainKeys":["ownerReferences","name"],"$setElementOrder/ownerReferences":[{"uid":"a"},{"uid":"b"}],"ownerReferences":[{"uid":"b","name":"bar"}]}}"#,
        expected: Expect::Result(
            r#"{"metadata":{"name":"foo","ownerReferences":[{"uid":"a"},{"uid":"b","name":"bar"},{"uid":"x"}]}}"#,
        ),
    },
    Case {
        description: "retainKeys map deletes nested merging list (two-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","ownerReferences":[{"uid":"a"},{"uid":"b"}]}}"#,
        patch: r#"{"metadata":{"$retainKeys":["name","namespace"],"namespace":"bar","ownerReferences":null}}"#,
        expected: Expect::Result(r#"{"metadata":{"name":"foo","namespace":"bar"}}"#),
    },
    Case {
        description: "retainKeys map deletes nested merging list (three-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","ownerReferences":[{"uid":"a"},{"uid":"b"}]}}"#,
        patch: r#"{"metadata":{"$retainKeys":["name","namespace"],"namespace":"bar","ownerReferences":null}}"#,
        expected: Expect::Result(r#"{"metadata":{"name":"foo","namespace":"bar"}}"#),
    },
    Case {
        description: "retainKeys map deletes an item in nested merging list (two-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","ownerReferences":[{"uid":"a"},{"uid":"b"}]}}"#,
        patch: r#"{"metadata":{"$retainKeys":["ownerReferences","name"],"$setElementOrder/ownerReferences":[{"uid":"a"}],"ownerReferences":[{"uid":"b","$patch":"delete"}]}}"#,
        expected: Expect::Result(r#"{"metadata":{"name":"foo","ownerReferences":[{"uid":"a"}]}}"#),
    },
    Case {
        description: "retainKeys map deletes an item in nested merging list (three-way)",
        root: Root::Pod,
        original: r#"{"metadata":{"name":"foo","ownerReferences":[{"uid":"a"},{"uid":"b"},{"uid":"x"}]}}"#,
        patch: r#"{"metadata":{"$retainKeys":["ownerReferences","name"],"$setElementOrder/ownerReferences":[{"uid":"a"}],"ownerReferences":[{"uid":"b","$patch":"delete"}]}}"#,
        expected: Expect::Result(
            r#"{"metadata":{"name":"foo","ownerReferences":[{"uid":"a"},{"uid":"x"}]}}"#,
        ),
    },
    Case {
        description: "retainKeys list of maps clears a field (two-way)",
        root: Root::Spec,
        original: r#"{"volumes":[{"name":"bar"},{"name":"foo","hostPath":"a"}]}"#,
        patch: r#"{}"#,
        expected: Expect::Result(r#"{"volumes":[{"name":"bar"},{"name":"foo","hostPath":"a"}]}"#),
    },
    Case {
        description: "retainKeys list of maps clears a field (three-way)",
        root: Root::Spec,
        original: r#"{"volumes":[{"name":"bar"},{"name":"foo","hostPath":"a","emptyDir":"x"}]}"#,
        patch: r#"{"$setElementOrder/volumes":[{"name":"bar"},{"name":"foo"}],"volumes":[{"$retainKeys":["name","hostPath"],"name":"foo"}]}"#,
        expected: Expect::Result(r#"{"volumes":[{"name":"bar"},{"name":"foo","hostPath":"a"}]}"#),
    },
    Case {
        description: "retainKeys list of maps clears a field with conflict (two-way)",
        root: Root::Spec,
        original: r#"{"volumes":[{"name":"bar"},{"name":"foo","hostPath":"old"}]}"#,
        patch: r#"{"$setElementOrder/volumes":[{"name":"bar"},{"name":"foo"}],"volumes":[{"$retainKeys":["name","hostPath"],"name":"foo","hostPath":"modified"}]}"#,
        expected: Expect::Result(
            r#"{"volumes":[{"name":"bar"},{"name":"foo","hostPath":"modified"}]}"#,
        ),
    },
    Case {
        description: "retainKeys list of maps clears a field with conflict (three-way)",
        root: Root::Spec,
        original: r#"{"volumes":[{"name":"bar"},{"name":"foo","hostPath":"new","emptyDir":"x"}]}"#,
        patch: r#"{"$setElementOrder/volumes":[{"name":"bar"},{"name":"foo"}],"volumes":[{"$retainKeys":["name","hostPath"],"name":"foo","hostPath":"modified"}]}"#,
        expected: Expect::Result(
            r#"{"volumes":[{"name":"bar"},{"name":"foo","hostPath":"modified"}]}"#,
        ),
    },
    Case {
        description: "retainKeys list of maps changes a field and clear a field (two-way)",
        root: Root::Spec,
        original: r#"{"volumes":[{"name":"bar"},{"name":"foo","hostPath":"old"}]}"#,
        patch: r#"{"$setElementOrder/volumes":[{"name":"bar"},{"name":"foo"}],"volumes":[{"$retainKeys":["name","hostPath"],"name":"foo","hostPath":"new"}]}"#,
        expected: Expect::Result(r#"{"volumes":[{"name":"bar"},{"name":"foo","hostPath":"new"}]}"#),
    },
    Case {
        description: "retainKeys list of maps changes a field and clear a field (three-way)",
        root: Root::Spec,
        original: r#"{"volumes":[{"name":"bar"},{"name":"foo","hostPath":"old","emptyDir":"x"}]}"#,
        patch: r#"{"$setElementOrder/volumes":[{"name":"bar"},{"name":"foo"}],"volumes":[{"$retainKeys":["name","hostPath"],"name":"foo","hostPath":"new"}]}"#,
        expected: Expect::Result(r#"{"volumes":[{"name":"bar"},{"name":"foo","hostPath":"new"}]}"#),
    },
    Case {
        description: "retainKeys list of maps changes a field and clear a field with conflict (two-way)",
        root: Root::Spec,
        original: r#"{"volumes":[{"name":"bar"},{"name":"foo","hostPath":"old"}]}"#,
        patch: r#"{"$setElementOrder/volumes":[{"name":"bar"},{"name":"foo"}],"volumes":[{"$retainKeys":["name","hostPath"],"name":"foo","hostPath":"new"}]}"#,
        expected: Expect::Result(r#"{"volumes":[{"name":"bar"},{"name":"foo","hostPath":"new"}]}"#),
    },
    Case {
        description: "retainKeys list of maps changes a field and clear a field with conflict (three-way)",
        root: Root::Spec,
        original: r#"{"volumes":[{"name":"bar"},{"name":"foo","hostPath":"modified","emptyDir":"x"}]}"#,
        patch: r#"{"$setElementOrder/volumes":[{"name":"bar"},{"name":"foo"}],"volumes":[{"$retainKeys":["name","hostPath"],"name":"foo","hostPath":"new"}]}"#,
        expected: Expect::Result(r#"{"volumes":[{"name":"bar"},{"name":"foo","hostPath":"new"}]}"#),
    },
    Case {
        description: "retainKeys list of maps adds a field (two-way)",
        root: Root::Spec,
        original: r#"{"volumes":[{"name":"bar"},{"name":"foo"}]}"#,
        patch: r#"{"$setElementOrder/volumes":[{"name":"bar"},{"name":"foo"}],"volumes":[{"$retainKeys":["name","hostPath"],"name":"foo","hostPath":"a"}]}"#,
        expected: Expect::Result(r#"{"volumes":[{"name":"bar"},{"name":"foo","hostPath":"a"}]}"#),
    },
    Case {
        description: "retainKeys list of maps adds a field (three-way)",
        root: Root::Spec,
        original: r#"{"volumes":[{"name":"bar"},{"name":"foo"}]}"#,
        patch: r#"{"$setElementOrder/volumes":[{"name":"bar"},{"name":"foo"}],"volumes":[{"$retainKeys":["name","hostPath"],"name":"foo","hostPath":"a"}]}"#,
        expected: Expect::Result(r#"{"volumes":[{"name":"bar"},{"name":"foo","hostPath":"a"}]}"#),
    },
    Case {
        description: "retainKeys list of maps adds a field and clear a field (two-way)",
        root: Root::Spec,
        original: r#"{"volumes":[{"name":"bar"},{"name":"foo"}]}"#,
        patch: r#"{"$setElementOrder/volumes":[{"name":"bar"},{"name":"foo"}],"volumes":[{"$retainKeys":["name","hostPath"],"name":"foo","hostPath":"a"}]}"#,
        expected: Expect::Result(r#"{"volumes":[{"name":"bar"},{"name":"foo","hostPath":"a"}]}"#),
    },
    Case {
        description: "retainKeys list of maps adds a field and clear a field (three-way)",
        root: Root::Spec,
        original: r#"{"volumes":[{"name":"bar"},{"name":"foo","emptyDir":"x"}]}"#,
        patch: r#"{"$setElementOrder/volumes":[{"name":"bar"},{"name":"foo"}],"volumes":[{"$retainKeys":["name","hostPath"],"name":"foo","hostPath":"a"}]}"#,
        expected: Expect::Result(r#"{"volumes":[{"name":"bar"},{"name":"foo","hostPath":"a"}]}"#),
    },
    Case {
        description: "retainKeys list of maps deletes a field (two-way)",
        root: Root::Spec,
        original: r#"{"volumes":[{"name":"bar"},{"name":"foo","hostPath":"a"}]}"#,
        patch: r#"{"$setElementOrder/volumes":[{"name":"bar"},{"name":"foo"}],"volumes":[{"$retainKeys":["name"],"name":"foo","hostPath":null}]}"#,
        expected: Expect::Result(r#"{"volumes":[{"name":"bar"},{"name":"foo"}]}"#),
    },
    Case {
        description: "retainKeys list of maps deletes a field (three-way)",
        root: Root::Spec,
        original: r#"{"volumes":[{"name":"bar"},{"name":"foo","hostPath":"a"}]}"#,
        patch: r#"{"$setElementOrder/volumes":[{"name":"bar"},{"name":"foo"}],"volumes":[{"$retainKeys":["name"],"name":"foo","hostPath":null}]}"#,
        expected: Expect::Result(r#"{"volumes":[{"name":"bar"},{"name":"foo"}]}"#),
    },
    Case {
        description: "retainKeys list of maps deletes a field and clear a field (two-way)",
        root: Root::Spec,
        original: r#"{"volumes":[{"name":"bar"},{"name":"foo","hostPath":"a"}]}"#,
        patch: r#"{"$setElementOrder/volumes":[{"name":"bar"},{"name":"foo"}],"volumes":[{"$retainKeys":["name"],"name":"foo","hostPath":null}]}"#,
        expected: Expect::Result(r#"{"volumes":[{"name":"bar"},{"name":"foo"}]}"#),
    },
    Case {
        description: "retainKeys list of maps deletes a field and clear a field (three-way)",
        root: Root::Spec,
        original: r#"{"volumes":[{"name":"bar"},{"name":"foo","hostPath":"a","emptyDir":"x"}]}"#,
        patch: r#"{"$setElementOrder/volumes":[{"name":"bar"},{"name":"foo"}],"volumes":[{"$retainKeys":["name"],"name":"foo","hostPath":null}]}"#,
        expected: Expect::Result(r#"{"volumes":[{"name":"bar"},{"name":"foo"}]}"#),
    },
    Case {
        description: "delete and reorder in one list, reorder in another (two-way)",
        root: Root::Spec,
        original: r#"{"containers":[{"name":"a","image":"a"},{"name":"b","image":"b"}],"initContainers":[{"name":"c","image":"c"},{"name":"d","image":"d"}]}"#,
        patch: r#"{"$setElementOrder/containers":[{"name":"b"}],"$setElementOrder/initContainers":[{"name":"d"},{"name":"c"}],"containers":[{"$patch":"delete","name":"a"}]}"#,
        expected: Expect::Result(
            r#"{"containers":[{"name":"b","image":"b"}],"initContainers":[{"name":"d","image":"d"},{"name":"c","image":"c"}]}"#,
        ),
    },
    Case {
        description: "delete and reorder in one list, reorder in another (three-way)",
        root: Root::Spec,
        original: r#"{"containers":[{"name":"a","image":"a"},{"name":"b","image":"b"}],"initContainers":[{"name":"c","image":"c"},{"name":"d","image":"d"}]}"#,
        patch: r#"{"$setElementOrder/containers":[{"name":"b"}],"$setElementOrder/initContainers":[{"name":"d"},{"name":"c"}],"containers":[{"$patch":"delete","name":"a"}]}"#,
        expected: Expect::Result(
            r#"{"containers":[{"name":"b","image":"b"}],"initContainers":[{"name":"d","image":"d"},{"name":"c","image":"c"}]}"#,
        ),
    },
    Case {
        description: "$setElementOrder contains item that is not present in the list to be merged (two-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1"},{"uid":"uid-3"}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-3"},{"uid":"uid-2"},{"uid":"uid-1"}],"ownerReferences":[{"uid":"uid-3","name":3},{"uid":"uid-1","name":1}]}"#,
        expected: Expect::Result(
            r#"{"ownerReferences":[{"uid":"uid-3","name":3},{"uid":"uid-1","name":1}]}"#,
        ),
    },
    Case {
        description: "$setElementOrder contains item that is not present in the int list to be merged (two-way)",
        root: Root::Meta,
        original: r#"{"finalizers":["example.com/f1","example.com/f3"]}"#,
        patch: r#"{"$setElementOrder/finalizers":["example.com/f3","example.com/f2","example.com/f1"]}"#,
        expected: Expect::Result(r#"{"finalizers":["example.com/f3","example.com/f1"]}"#),
    },
    Case {
        description: "should check if order in $setElementOrder and patch list match (two-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1"},{"uid":"uid-3"},{"uid":"uid-2"}]}"#,
        patch: r#"{"$setElementOrder/ownerReferences":[{"uid":"uid-1"},{"uid":"uid-2"},{"uid":"uid-3"}],"ownerReferences":[{"uid":"uid-3","name":3},{"uid":"uid-1","name":1}]}"#,
        expected: Expect::Error("doesn't match"),
    },
    Case {
        description: "$setElementOrder contains item that is not present in the int list to be merged (two-way)",
        root: Root::Meta,
        original: r#"{"finalizers":["example.com/f1","example.com/f3","example.com/f2"]}"#,
        patch: r#"{"$setElementOrder/finalizers":["example.com/f1","example.com/f2","example.com/f3"],"finalizers":["example.com/f3","example.com/f1"]}"#,
        expected: Expect::Error("doesn't match"),
    },
    Case {
        description: "missing merge key should error out (two-way)",
        root: Root::Meta,
        original: r#"{"ownerReferences":[{"uid":"uid-1","name":"a"}]}"#,
        patch: r#"{"ownerReferences":[{"name":"b"}]}"#,
        expected: Expect::Error("does not contain declared merge key"),
    },
    Case {
        description: "$deleteFromPrimitiveList of nonexistent item in primitive list should not add the item to the list (two-way)",
        root: Root::Meta,
        original: r#"{"finalizers":["example.com/f1","example.com/f2"]}"#,
        patch: r#"{"$deleteFromPrimitiveList/finalizers":["example.com/f3"]}"#,
        expected: Expect::Result(r#"{"finalizers":["example.com/f1","example.com/f2"]}"#),
    },
    Case {
        description: "$deleteFromPrimitiveList on empty primitive list should not add the item to the list (two-way)",
        root: Root::Meta,
        original: r#"{"finalizers":null}"#,
        patch: r#"{"$deleteFromPrimitiveList/finalizers":["example.com/f3"]}"#,
        expected: Expect::Result(r#"{"finalizers":null}"#),
    },
    Case {
        description: "$deleteFromPrimitiveList on nonexistent primitive list should not add the primitive list (two-way)",
        root: Root::Meta,
        original: r#"{"foo":["bar"]}"#,
        patch: r#"{"$deleteFromPrimitiveList/finalizers":["example.com/f3"]}"#,
        expected: Expect::Result(r#"{"foo":["bar"]}"#),
    },
    Case {
        description: "$deleteFromPrimitiveList should delete item from a list with merge patch strategy (two-way)",
        root: Root::Meta,
        original: r#"{"finalizers":["example.com/f1","example.com/f2","example.com/f3"]}"#,
        patch: r#"{"$deleteFromPrimitiveList/finalizers":["example.com/f2"]}"#,
        expected: Expect::Result(r#"{"finalizers":["example.com/f1","example.com/f3"]}"#),
    },
    Case {
        description: "$deleteFromPrimitiveList should delete item from a list without merge patch strategy (two-way)",
        root: Root::Svc,
        original: r#"{"externalIPs":["10.0.0.1","10.0.0.2","10.0.0.3"]}"#,
        patch: r#"{"$deleteFromPrimitiveList/externalIPs":["10.0.0.2"]}"#,
        expected: Expect::Result(r#"{"externalIPs":["10.0.0.1","10.0.0.3"]}"#),
    },
];
