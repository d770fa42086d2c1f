//! `kafka-cli groups`: list, describe (members, assignment, lag per partition), reset offsets
//! and delete consumer groups, of both protocols (classic and KIP-848).

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use kafka_client::admin::{Admin, OffsetSpec};
use kafka_client::consumer::group::{protocol, wire};
use kafka_client::consumer::{OffsetAndMetadata, TopicPartition};
use kafka_client::Client;
use kafka_protocol::generated::offset_fetch_request::OffsetFetchRequestGroup;
use kafka_protocol::generated::{
    ConsumerGroupDescribeRequest, DeleteGroupsRequest, DescribeGroupsRequest, ListGroupsRequest,
    OffsetCommitRequest, OffsetFetchRequest,
};
use kafka_protocol::ErrorCode;

use super::config::ConnectArgs;

/// Writes one line to stdout; a closed pipe comes back as an error (and ends the program
/// quietly, see `main`).
fn emit(line: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    o.write_all(line.as_bytes())?;
    o.write_all(b"\n")
}

/// List, describe (members, assignment, lag), reset offsets of and delete consumer groups.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    connect: ConnectArgs,
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// List the groups of every broker.
    List {
        /// Print JSON Lines.
        #[arg(long)]
        json: bool,
    },
    /// Members, assignment and lag per partition.
    Describe {
        /// Groups.
        #[arg(required = true)]
        groups: Vec<String>,
        /// Print JSON Lines (one line per partition).
        #[arg(long)]
        json: bool,
    },
    /// Move the committed offsets of an inactive group (dry run unless --execute).
    ResetOffsets(ResetArgs),
    /// Delete inactive groups and their offsets.
    Delete {
        /// Groups.
        #[arg(required = true)]
        groups: Vec<String>,
    },
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("to").required(true)))]
struct ResetArgs {
    /// The group.
    group: String,
    /// Topic whose partitions to reset (repeatable).
    #[arg(short = 't', long = "topic", required = true)]
    topics: Vec<String>,
    /// To the log start offsets.
    #[arg(long, group = "to")]
    to_earliest: bool,
    /// To the log end offsets.
    #[arg(long, group = "to")]
    to_latest: bool,
    /// To this offset (clamped to the log).
    #[arg(long, group = "to", allow_hyphen_values = true)]
    to_offset: Option<i64>,
    /// By this many records from the committed offset (negative: back), clamped.
    #[arg(long, group = "to", allow_hyphen_values = true)]
    shift_by: Option<i64>,
    /// To the first offset at or after this timestamp (ms since the epoch).
    #[arg(long, group = "to")]
    to_datetime: Option<i64>,
    /// Commit the new offsets (otherwise only print them).
    #[arg(long)]
    execute: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = args.connect.client_config()?;
    super::runtime()?.block_on(async move {
        let client = Client::connect(config).await.context("connecting")?;
        match args.what {
            What::List { json } => list(&client, json).await,
            What::Describe { groups, json } => {
                let mut code = ExitCode::SUCCESS;
                for g in groups {
                    if !describe(&client, &g, json).await? {
                        code = ExitCode::from(1);
                    }
                }
                Ok(code)
            }
            What::ResetOffsets(r) => reset(&client, r).await,
            What::Delete { groups } => delete(&client, &groups).await,
        }
    })
}

/// The group's coordinator node.
async fn coordinator(client: &Client, group: &str) -> anyhow::Result<i32> {
    let resp = client
        .send_any_with(|v| wire::find_coordinator(group, v))
        .await
        .context("finding the group coordinator")?;
    let c = wire::parse_find_coordinator(&resp, group).map_err(|(code, msg)| {
        anyhow!(
            "finding the coordinator of group {group}: {code}{}",
            msg.map(|m| format!(": {m}")).unwrap_or_default()
        )
    })?;
    Ok(c.node)
}

async fn list(client: &Client, json: bool) -> anyhow::Result<ExitCode> {
    let brokers: Vec<i32> = client.cluster().brokers.keys().copied().collect();
    let mut groups: BTreeMap<String, (String, String, String)> = BTreeMap::new();
    let mut failed = false;
    for b in brokers {
        match client.send_to(b, &ListGroupsRequest::default()).await {
            Ok(r) if r.error_code == 0 => {
                for g in r.groups {
                    groups.insert(
                        g.group_id.into(),
                        (
                            g.group_type.into(),
                            g.group_state.into(),
                            g.protocol_type.into(),
                        ),
                    );
                }
            }
            Ok(r) => {
                eprintln!("broker {b}: {}", ErrorCode(r.error_code));
                failed = true;
            }
            Err(e) => {
                eprintln!("broker {b}: {e}");
                failed = true;
            }
        }
    }
    if json {
        for (g, (ty, state, proto)) in &groups {
            emit(&format!(
                "{}",
                serde_json::json!({"group": g, "type": ty, "state": state, "protocol_type": proto})
            ))?;
        }
    } else {
        emit(&format!(
            "{:<40} {:<10} {:<20} PROTOCOL-TYPE",
            "GROUP", "TYPE", "STATE"
        ))?;
        for (g, (ty, state, proto)) in &groups {
            emit(&format!("{g:<40} {ty:<10} {state:<20} {proto}"))?;
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// One member as described.
#[derive(Debug, Clone)]
struct Member {
    id: String,
    client_id: String,
    host: String,
    assignment: Vec<TopicPartition>,
}

/// State, members and protocol of a group.
struct Described {
    state: String,
    protocol: String,
    members: Vec<Member>,
}

async fn describe_group(
    client: &Client,
    node: i32,
    group: &str,
) -> anyhow::Result<Option<Described>> {
    // KIP-848 groups first: ConsumerGroupDescribe answers GROUP_ID_NOT_FOUND for classic ones.
    let conn = client.connection(node).await?;
    if conn.version_of::<ConsumerGroupDescribeRequest>().is_ok() {
        let r = conn
            .send(&ConsumerGroupDescribeRequest {
                group_ids: vec![group.into()],
                ..Default::default()
            })
            .await?;
        if let Some(g) = r.groups.into_iter().next() {
            if g.error_code == 0 {
                return Ok(Some(Described {
                    state: g.group_state.into(),
                    protocol: format!("consumer ({})", g.assignor_name),
                    members: g
                        .members
                        .into_iter()
                        .map(|m| Member {
                            id: m.member_id.into(),
                            client_id: m.client_id.into(),
                            host: m.client_host.into(),
                            assignment: m
                                .assignment
                                .topic_partitions
                                .iter()
                                .flat_map(|t| {
                                    t.partitions.iter().map(move |&p| {
                                        TopicPartition::new(t.topic_name.as_str(), p)
                                    })
                                })
                                .collect(),
                        })
                        .collect(),
                }));
            }
        }
    }
    let r = conn
        .send(&DescribeGroupsRequest {
            groups: vec![group.into()],
            ..Default::default()
        })
        .await?;
    let Some(g) = r.groups.into_iter().next() else {
        return Ok(None);
    };
    match ErrorCode(g.error_code) {
        ErrorCode::NONE => {}
        ErrorCode::GROUP_ID_NOT_FOUND => return Ok(None),
        code => bail!("describe group {group}: {code}"),
    }
    if g.group_state == "Dead" {
        return Ok(None);
    }
    let consumer = g.protocol_type == "consumer";
    Ok(Some(Described {
        state: g.group_state.into(),
        protocol: if g.protocol_data.is_empty() {
            "classic".into()
        } else {
            format!("classic ({})", g.protocol_data)
        },
        members: g
            .members
            .into_iter()
            .map(|m| Member {
                assignment: if consumer {
                    protocol::decode_assignment(&m.member_assignment).unwrap_or_default()
                } else {
                    Vec::new()
                },
                id: m.member_id.into(),
                client_id: m.client_id.into(),
                host: m.client_host.into(),
            })
            .collect(),
    }))
}

/// Every committed offset of the group.
async fn committed(
    client: &Client,
    node: i32,
    group: &str,
) -> anyhow::Result<BTreeMap<TopicPartition, OffsetAndMetadata>> {
    let conn = client.connection(node).await?;
    let v = conn
        .version_of::<OffsetFetchRequest>()?
        .min(wire::OFFSET_FETCH_MAX);
    let req = if v >= 8 {
        OffsetFetchRequest {
            groups: vec![OffsetFetchRequestGroup {
                group_id: group.into(),
                topics: None,
                ..Default::default()
            }],
            ..Default::default()
        }
    } else {
        OffsetFetchRequest {
            group_id: group.into(),
            topics: None,
            ..Default::default()
        }
    };
    let resp = conn.send_versioned(&req, v).await?;
    let list = wire::parse_offset_fetch(&resp)
        .map_err(|c| anyhow!("fetch offsets of group {group}: {c}"))?;
    Ok(list
        .into_iter()
        .filter_map(|(tp, r)| r.ok().flatten().map(|o| (tp, o)))
        .collect())
}

/// Log end offsets of `parts`.
async fn end_offsets(
    client: &Client,
    parts: &BTreeSet<TopicPartition>,
    spec: OffsetSpec,
) -> BTreeMap<TopicPartition, i64> {
    let admin = Admin::new(client.clone());
    let mut by_topic: BTreeMap<&str, Vec<(i32, OffsetSpec)>> = BTreeMap::new();
    for tp in parts {
        by_topic
            .entry(&tp.topic)
            .or_default()
            .push((tp.partition, spec));
    }
    let mut out = BTreeMap::new();
    for (topic, ps) in by_topic {
        match admin.list_offsets(topic, &ps).await {
            Ok(list) => {
                for o in list {
                    out.insert(TopicPartition::new(topic, o.partition), o.offset);
                }
            }
            Err(e) => eprintln!("warning: offsets of {topic}: {e}"),
        }
    }
    out
}

/// Prints one group; false if it does not exist.
async fn describe(client: &Client, group: &str, json: bool) -> anyhow::Result<bool> {
    let node = coordinator(client, group).await?;
    let described = describe_group(client, node, group).await?;
    let offsets = committed(client, node, group).await?;
    let Some(d) = described.or_else(|| {
        (!offsets.is_empty()).then(|| Described {
            state: "Empty".into(),
            protocol: String::new(),
            members: Vec::new(),
        })
    }) else {
        eprintln!("group {group} does not exist");
        return Ok(false);
    };
    let mut owner: BTreeMap<TopicPartition, &Member> = BTreeMap::new();
    for m in &d.members {
        for tp in &m.assignment {
            owner.insert(tp.clone(), m);
        }
    }
    let parts: BTreeSet<TopicPartition> = offsets.keys().chain(owner.keys()).cloned().collect();
    let ends = end_offsets(client, &parts, OffsetSpec::Latest).await;
    if json {
        for tp in &parts {
            let cur = offsets.get(tp).map(|o| o.offset);
            let end = ends.get(tp).copied();
            let m = owner.get(tp);
            emit(&format!(
                "{}",
                serde_json::json!({
                    "group": group, "state": d.state, "topic": tp.topic.as_ref(), "partition": tp.partition,
                    "current_offset": cur, "log_end_offset": end,
                    "lag": cur.zip(end).map(|(c, e)| (e - c).max(0)),
                    "member_id": m.map(|m| m.id.clone()), "client_id": m.map(|m| m.client_id.clone()),
                    "host": m.map(|m| m.host.clone()),
                })
            ))?;
        }
        return Ok(true);
    }
    emit(&format!(
        "group {group}: state {}, protocol {}, {} member(s)",
        d.state,
        if d.protocol.is_empty() {
            "-"
        } else {
            &d.protocol
        },
        d.members.len()
    ))?;
    emit(&format!(
        "{:<30} {:>9} {:>15} {:>15} {:>8}  {:<40} CLIENT-ID",
        "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "MEMBER-ID"
    ))?;
    let dash = || "-".to_string();
    for tp in &parts {
        let cur = offsets.get(tp).map(|o| o.offset);
        let end = ends.get(tp).copied();
        let lag = cur.zip(end).map(|(c, e)| (e - c).max(0));
        let m = owner.get(tp);
        emit(&format!(
            "{:<30} {:>9} {:>15} {:>15} {:>8}  {:<40} {}",
            tp.topic,
            tp.partition,
            cur.map_or_else(dash, |c| c.to_string()),
            end.map_or_else(dash, |e| e.to_string()),
            lag.map_or_else(dash, |l| l.to_string()),
            m.map_or_else(dash, |m| m.id.clone()),
            m.map_or_else(dash, |m| m.client_id.clone()),
        ))?;
    }
    for m in &d.members {
        let mut a: Vec<String> = m.assignment.iter().map(ToString::to_string).collect();
        a.sort();
        emit(&format!(
            "member {} ({} at {}): {}",
            m.id,
            m.client_id,
            m.host,
            if a.is_empty() {
                "-".into()
            } else {
                a.join(",")
            }
        ))?;
    }
    Ok(true)
}

async fn reset(client: &Client, r: ResetArgs) -> anyhow::Result<ExitCode> {
    let node = coordinator(client, &r.group).await?;
    if let Some(d) = describe_group(client, node, &r.group).await? {
        if !d.members.is_empty() {
            bail!(
                "group {} has {} active member(s) (state {}): stop them before resetting offsets",
                r.group,
                d.members.len(),
                d.state
            );
        }
    }
    let timeout = client.config().default_api_timeout;
    let mut parts = BTreeSet::new();
    for t in &r.topics {
        let info = client
            .topic(t, timeout)
            .await
            .with_context(|| format!("topic {t}"))?;
        for p in &info.partitions {
            parts.insert(TopicPartition::new(t.as_str(), p.partition));
        }
    }
    let begins = end_offsets(client, &parts, OffsetSpec::Earliest).await;
    let ends = end_offsets(client, &parts, OffsetSpec::Latest).await;
    let current = committed(client, node, &r.group).await?;
    let by_time = match r.to_datetime {
        Some(ts) => Some(end_offsets(client, &parts, OffsetSpec::Timestamp(ts)).await),
        None => None,
    };
    let mut plan: BTreeMap<TopicPartition, OffsetAndMetadata> = BTreeMap::new();
    for tp in &parts {
        let (Some(&lo), Some(&hi)) = (begins.get(tp), ends.get(tp)) else {
            bail!("no offsets known for {tp}");
        };
        let target = if r.to_earliest {
            lo
        } else if r.to_latest {
            hi
        } else if let Some(n) = r.to_offset {
            n
        } else if let Some(n) = r.shift_by {
            current.get(tp).map_or(lo, |c| c.offset) + n
        } else if let Some(m) = &by_time {
            // No record at or after the time: the end, as Java's tool does.
            m.get(tp).copied().filter(|o| *o >= 0).unwrap_or(hi)
        } else {
            bail!("no target given");
        };
        plan.insert(tp.clone(), OffsetAndMetadata::new(target.clamp(lo, hi)));
    }
    emit(&format!(
        "{:<30} {:>9} {:>15}",
        "TOPIC", "PARTITION", "NEW-OFFSET"
    ))?;
    for (tp, o) in &plan {
        emit(&format!(
            "{:<30} {:>9} {:>15}",
            tp.topic, tp.partition, o.offset
        ))?;
    }
    if !r.execute {
        eprintln!("dry run: add --execute to commit these offsets");
        return Ok(ExitCode::SUCCESS);
    }
    let conn = client.connection(node).await?;
    let v = conn
        .version_of::<OffsetCommitRequest>()?
        .min(wire::OFFSET_COMMIT_MAX);
    // Generation -1 and no member id: a commit from outside the group, accepted while it is
    // empty.
    let req = wire::offset_commit(&r.group, -1, "", None, &plan, v);
    let resp = conn.send_versioned(&req, v).await?;
    let failed: Vec<(TopicPartition, ErrorCode)> = wire::parse_offset_commit(&resp)
        .into_iter()
        .filter(|(_, c)| *c != ErrorCode::NONE)
        .collect();
    for (tp, c) in &failed {
        eprintln!("{tp}: {c}");
    }
    Ok(if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn delete(client: &Client, groups: &[String]) -> anyhow::Result<ExitCode> {
    let mut code = ExitCode::SUCCESS;
    for g in groups {
        let node = coordinator(client, g).await?;
        let resp = client
            .send_to(
                node,
                &DeleteGroupsRequest {
                    groups_names: vec![g.clone().into()],
                    ..Default::default()
                },
            )
            .await?;
        for r in resp.results {
            match ErrorCode(r.error_code) {
                ErrorCode::NONE => emit(&format!("deleted group {}", r.group_id))?,
                c => {
                    eprintln!("group {}: {c}", r.group_id);
                    code = ExitCode::from(1);
                }
            }
        }
    }
    Ok(code)
}
