//! Differential test of the assignors against the Java ones (kafka-clients 4.3.1 on the
//! broker's classpath, driven by a small program compiled at test time): the same members,
//! subscriptions, owned partitions and generations must give the same assignment, over many
//! random groups and successive rebalances (members joining and leaving).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use kafka_client::consumer::group::assignor::{AssignorKind, MemberSubscription};
use kafka_client::consumer::TopicPartition;

use crate::common::{java_classpath, repo};

const ASSIGN_JAVA: &str = r#"
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.Subscription;
import org.apache.kafka.clients.consumer.internals.AbstractPartitionAssignor;
import org.apache.kafka.common.TopicPartition;
import java.io.*;
import java.util.*;
public class Assign {
  public static void main(String[] a) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
    PrintStream out = new PrintStream(new BufferedOutputStream(System.out), false);
    String line; AbstractPartitionAssignor assignor = null;
    Map<String, Integer> topics = new HashMap<>();
    Map<String, Subscription> subs = new HashMap<>();
    List<String> order = new ArrayList<>();
    while ((line = in.readLine()) != null) {
      String[] f = line.split(" ");
      switch (f[0]) {
        case "scenario":
          assignor = f[1].equals("range") ? new RangeAssignor() : f[1].equals("roundrobin") ? new RoundRobinAssignor() : new CooperativeStickyAssignor();
          topics = new HashMap<>(); subs = new HashMap<>(); order = new ArrayList<>(); break;
        case "topic": topics.put(f[1], Integer.parseInt(f[2])); break;
        case "member": {
          List<String> ts = Arrays.asList(f[4].split(","));
          List<TopicPartition> owned = new ArrayList<>();
          if (!f[5].equals("-")) for (String tp : f[5].split(",")) { String[] x = tp.split(":"); owned.add(new TopicPartition(x[0], Integer.parseInt(x[1]))); }
          Subscription s = new Subscription(ts, null, owned, Integer.parseInt(f[3]), Optional.empty());
          if (!f[2].equals("-")) s.setGroupInstanceId(Optional.of(f[2]));
          subs.put(f[1], s); order.add(f[1]); break;
        }
        case "end": {
          Map<String, List<TopicPartition>> r = assignor.assign(topics, subs);
          for (String m : order) {
            List<String> ps = new ArrayList<>();
            for (TopicPartition tp : r.get(m)) ps.add(tp.topic() + ":" + tp.partition());
            Collections.sort(ps);
            out.println("member " + m + " " + (ps.isEmpty() ? "-" : String.join(",", ps)));
          }
          out.println("done"); out.flush(); break;
        }
      }
    }
    out.flush();
  }
}
"#;

fn java_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = repo().join("target/consumer-it-java-assign");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("Assign.java"), ASSIGN_JAVA).unwrap();
        let out = Command::new("javac")
            .args(["-cp", &java_classpath(), "-d"])
            .arg(&dir)
            .arg(dir.join("Assign.java"))
            .output()
            .expect("run javac");
        assert!(
            out.status.success(),
            "javac: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
}

/// One group to assign.
#[derive(Debug, Clone)]
struct Scenario {
    kind: AssignorKind,
    topics: BTreeMap<String, i32>,
    members: Vec<MemberSubscription>,
}

type Assignment = BTreeMap<String, BTreeSet<String>>;

fn show(parts: &[TopicPartition]) -> BTreeSet<String> {
    parts
        .iter()
        .map(|tp| format!("{}:{}", tp.topic, tp.partition))
        .collect()
}

/// Runs every scenario through the Java assignors in one JVM.
fn java_assign(scenarios: &[Scenario]) -> Vec<Assignment> {
    let cp = format!("{}:{}", java_dir().display(), java_classpath());
    let mut child = Command::new("java")
        .args(["-cp", &cp, "Assign"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run the Java assignor");
    let mut input = String::new();
    for s in scenarios {
        input.push_str(&format!("scenario {}\n", s.kind.name()));
        for (t, n) in &s.topics {
            input.push_str(&format!("topic {t} {n}\n"));
        }
        for m in &s.members {
            let owned: Vec<String> = show(&m.owned_partitions).into_iter().collect();
            input.push_str(&format!(
                "member {} {} {} {} {}\n",
                m.member_id,
                m.group_instance_id.as_deref().unwrap_or("-"),
                m.generation.unwrap_or(-1),
                m.topics.join(","),
                if owned.is_empty() {
                    "-".to_string()
                } else {
                    owned.join(",")
                },
            ));
        }
        input.push_str("end\n");
    }
    // Write from another thread: the program answers as it reads, and a full stdout pipe
    // would otherwise block both sides.
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let mut result = Vec::new();
    let mut cur = Assignment::new();
    for line in text.lines() {
        if line == "done" {
            result.push(std::mem::take(&mut cur));
            continue;
        }
        let mut f = line.split(' ');
        let (Some("member"), Some(id), Some(parts)) = (f.next(), f.next(), f.next()) else {
            panic!("bad line {line}");
        };
        let set = if parts == "-" {
            BTreeSet::new()
        } else {
            parts.split(',').map(str::to_owned).collect()
        };
        cur.insert(id.to_owned(), set);
    }
    result
}

fn ours(s: &Scenario) -> Assignment {
    s.kind
        .assign(&s.topics, &s.members)
        .into_iter()
        .map(|(m, p)| (m, show(&p)))
        .collect()
}

/// A member id like Java's (`client-id-` plus a UUID), random.
fn member_id(rng: &mut fastrand::Rng) -> String {
    format!(
        "consumer-g-{}-{:08x}-{:04x}-{:04x}",
        rng.u32(1..9),
        rng.u32(..),
        rng.u16(..),
        rng.u16(..)
    )
}

/// Random groups, then two rebalances each where members keep what they were given (owned
/// partitions and generation), one member leaves and one joins.
fn scenarios(
    kind: AssignorKind,
    same_subscriptions: bool,
    seed: u64,
    groups: usize,
) -> Vec<Vec<Scenario>> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut all = Vec::new();
    for _ in 0..groups {
        let topics: BTreeMap<String, i32> = (0..rng.usize(1..4))
            .map(|i| (format!("t{i}"), rng.i32(1..10)))
            .collect();
        let names: Vec<String> = topics.keys().cloned().collect();
        let new_member = |rng: &mut fastrand::Rng| {
            let subs: Vec<String> = if same_subscriptions {
                names.clone()
            } else {
                let mut s: Vec<String> = names.iter().filter(|_| rng.bool()).cloned().collect();
                if s.is_empty() {
                    s.push(names[0].clone());
                }
                s
            };
            MemberSubscription {
                member_id: member_id(rng),
                group_instance_id: rng
                    .bool()
                    .then(|| format!("instance-{}", rng.u32(..1000)))
                    .filter(|_| rng.u8(..4) == 0),
                topics: subs,
                ..Default::default()
            }
        };
        let mut members: Vec<MemberSubscription> =
            (0..rng.usize(1..7)).map(|_| new_member(&mut rng)).collect();
        let mut rounds = Vec::new();
        for generation in 1..=3 {
            let s = Scenario {
                kind,
                topics: topics.clone(),
                members: members.clone(),
            };
            let given = kind.assign(&s.topics, &s.members);
            rounds.push(s);
            for m in &mut members {
                m.owned_partitions = given[&m.member_id].clone();
                m.generation = Some(generation);
            }
            if members.len() > 1 && rng.bool() {
                let i = rng.usize(..members.len());
                members.remove(i);
            }
            let i = rng.usize(..=members.len());
            members.insert(i, new_member(&mut rng));
        }
        all.push(rounds);
    }
    all
}

fn compare(kind: AssignorKind, same: bool, seed: u64, groups: usize) {
    let groups = scenarios(kind, same, seed, groups);
    let flat: Vec<Scenario> = groups.into_iter().flatten().collect();
    let java = java_assign(&flat);
    assert_eq!(java.len(), flat.len());
    let mut mismatches = 0;
    for (s, j) in flat.iter().zip(&java) {
        let o = ours(s);
        if &o != j {
            mismatches += 1;
            if mismatches <= 3 {
                eprintln!("{kind:?} differs for {s:#?}\n ours {o:#?}\n java {j:#?}");
            }
        }
    }
    assert_eq!(
        mismatches,
        0,
        "{kind:?}: {mismatches} of {} assignments differ from Java",
        flat.len()
    );
}

#[test]
fn range_matches_java() {
    compare(AssignorKind::Range, false, 1, 150);
}

#[test]
fn roundrobin_matches_java() {
    compare(AssignorKind::RoundRobin, false, 2, 150);
}

#[test]
fn cooperative_sticky_matches_java_with_equal_subscriptions() {
    compare(AssignorKind::CooperativeSticky, true, 3, 200);
}
