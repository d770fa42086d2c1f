// franz-go fixture client for tools/capture/capture.sh.
//
//	franz produce  <bootstrap> <topic> <none|gzip|snappy|lz4|zstd> <count> <idempotent:true|false>
//	franz txn      <bootstrap> <topic> <count>
//	franz consume  <bootstrap> <topic> <group> <classic|consumer> <count>
//	franz admin    <bootstrap> <prefix> <existing-group>
//	franz metadata <bootstrap> <topic>
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func die(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "franz: "+format+"\n", args...)
	os.Exit(1)
}

func record(topic string, i int) *kgo.Record {
	r := &kgo.Record{
		Topic: topic,
		Value: []byte(fmt.Sprintf("value %d %s", i, strings.Repeat("the quick brown fox ", 1+i%5))),
		Headers: []kgo.RecordHeader{{Key: "seq", Value: []byte(strconv.Itoa(i))}},
	}
	if i%7 != 0 {
		r.Key = []byte(fmt.Sprintf("key-%d", i%10))
	}
	return r
}

func codec(name string) kgo.CompressionCodec {
	switch name {
	case "none":
		return kgo.NoCompression()
	case "gzip":
		return kgo.GzipCompression()
	case "snappy":
		return kgo.SnappyCompression()
	case "lz4":
		return kgo.Lz4Compression()
	case "zstd":
		return kgo.ZstdCompression()
	}
	die("unknown codec %s", name)
	return kgo.NoCompression()
}

func client(bootstrap string, opts ...kgo.Opt) *kgo.Client {
	opts = append([]kgo.Opt{kgo.SeedBrokers(bootstrap), kgo.ClientID("capture-franz")}, opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		die("client: %v", err)
	}
	return cl
}

func main() {
	if len(os.Args) < 3 {
		die("usage: franz produce|txn|consume|admin|metadata <bootstrap> ...")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	a := os.Args[2:]
	switch os.Args[1] {
	case "produce":
		count, _ := strconv.Atoi(a[3])
		opts := []kgo.Opt{kgo.ProducerBatchCompression(codec(a[2])), kgo.ProducerLinger(5 * time.Millisecond),
			kgo.AllowAutoTopicCreation()}
		if a[4] != "true" {
			opts = append(opts, kgo.DisableIdempotentWrite(), kgo.RequiredAcks(kgo.LeaderAck()))
		}
		cl := client(a[0], opts...)
		defer cl.Close()
		for half := 0; half < 2; half++ {
			var rs []*kgo.Record
			for i := half * count / 2; i < (half+1)*count/2; i++ {
				rs = append(rs, record(a[1], i))
			}
			if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
				die("produce: %v", err)
			}
		}
		fmt.Printf("produced %d records to %s (%s)\n", count, a[1], a[2])
	case "txn":
		count, _ := strconv.Atoi(a[2])
		cl := client(a[0], kgo.TransactionalID("capture-franz-txn-"+a[1]), kgo.AllowAutoTopicCreation(),
			kgo.DefaultProduceTopic(a[1]))
		defer cl.Close()
		for n, commit := range []kgo.TransactionEndTry{kgo.TryCommit, kgo.TryAbort, kgo.TryCommit} {
			if err := cl.BeginTransaction(); err != nil {
				die("begin: %v", err)
			}
			var rs []*kgo.Record
			for i := 0; i < count; i++ {
				rs = append(rs, record(a[1], n*1000+i))
			}
			if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
				die("produce: %v", err)
			}
			if err := cl.EndTransaction(ctx, commit); err != nil {
				die("end: %v", err)
			}
		}
		// read back with read_committed
		rd := client(a[0], kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{a[1]: {0: kgo.NewOffset().AtStart()}}),
			kgo.FetchIsolationLevel(kgo.ReadCommitted()))
		defer rd.Close()
		got := 0
		for got < 2*count {
			fs := rd.PollFetches(ctx)
			if err := ctx.Err(); err != nil {
				die("read back: %v (got %d)", err, got)
			}
			got += fs.NumRecords()
		}
		fmt.Printf("txn: read back %d committed records\n", got)
	case "consume":
		count, _ := strconv.Atoi(a[4])
		opts := []kgo.Opt{kgo.ConsumerGroup(a[2]), kgo.ConsumeTopics(a[1]), kgo.DisableAutoCommit(),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}
		if a[3] == "consumer" {
			opts = append(opts, kgo.ServerSideBalancer(), kgo.Balancers(kgo.CooperativeStickyBalancer()))
		}
		cl := client(a[0], opts...)
		got := 0
		for got < count {
			fs := cl.PollRecords(ctx, 25)
			if err := ctx.Err(); err != nil {
				die("consume: %v (got %d)", err, got)
			}
			fs.EachError(func(t string, p int32, err error) { die("fetch %s/%d: %v", t, p, err) })
			got += fs.NumRecords()
			if err := cl.CommitUncommittedOffsets(ctx); err != nil {
				die("commit: %v", err)
			}
		}
		cl.Close() // leaves the group
		fmt.Printf("consumed %d records from %s in group %s (%s)\n", got, a[1], a[2], a[3])
	case "admin":
		cl := client(a[0])
		defer cl.Close()
		ad := kadm.NewClient(cl)
		t1, t2 := a[1]+"-a", a[1]+"-b"
		ret := "3600000"
		show := func(what string, err error) { fmt.Printf("%s: %v\n", what, err) }
		_, err := ad.CreateTopics(ctx, 2, 1, map[string]*string{"retention.ms": &ret}, t1, t2)
		show("CreateTopics", err)
		r, err := ad.CreateTopics(ctx, 1, 1, nil, t1)
		show("CreateTopics again", firstErr(err, r.Error()))
		_, err = ad.ListTopicsWithInternal(ctx)
		show("ListTopics", err)
		_, err = ad.DescribeTopicConfigs(ctx, t1)
		show("DescribeTopicConfigs", err)
		_, err = ad.DescribeBrokerConfigs(ctx, 1)
		show("DescribeBrokerConfigs", err)
		v := "7200000"
		_, err = ad.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: &v},
			{Op: kadm.DeleteConfig, Name: "cleanup.policy"}}, t1)
		show("AlterTopicConfigs (incremental)", err)
		_, err = ad.AlterTopicConfigsState(ctx, []kadm.AlterConfig{{Name: "retention.ms", Value: &v}}, t2)
		show("AlterTopicConfigsState (legacy AlterConfigs)", err)
		_, err = ad.CreatePartitions(ctx, 1, t1)
		show("CreatePartitions", err)
		_, err = ad.ListEndOffsets(ctx, t1)
		show("ListEndOffsets", err)
		_, err = ad.ListGroups(ctx)
		show("ListGroups", err)
		_, err = ad.DescribeGroups(ctx, a[2])
		show("DescribeGroups", err)
		_, err = ad.FetchOffsets(ctx, a[2])
		show("FetchOffsets", err)
		_, err = ad.Lag(ctx, a[2])
		show("Lag", err)
		_, err = ad.DeleteGroups(ctx, a[2])
		show("DeleteGroups", err)
		_, err = ad.DescribeACLs(ctx, kadm.NewACLs().AnyResource().Topics().Groups().Clusters().TransactionalIDs().DelegationTokens().
			ResourcePatternType(kadm.ACLPatternAny).Operations(kadm.OpAny).Allow().Deny().AllowHosts().DenyHosts())
		show("DescribeACLs", err)
		_, err = ad.DescribeUserSCRAMs(ctx)
		show("DescribeUserSCRAMs", err)
		_, err = ad.DescribeAllLogDirs(ctx, nil)
		show("DescribeAllLogDirs", err)
		_, err = ad.ApiVersions(ctx)
		show("ApiVersions", err)
		_, err = ad.DeleteTopics(ctx, t1, t2)
		show("DeleteTopics", err)
	case "metadata":
		cl := client(a[0])
		defer cl.Close()
		ad := kadm.NewClient(cl)
		m, err := ad.Metadata(ctx)
		if err != nil {
			die("metadata: %v", err)
		}
		_, err = ad.Metadata(ctx, a[1])
		if err != nil {
			die("metadata: %v", err)
		}
		_, err = ad.ListBrokers(ctx)
		if err != nil {
			die("brokers: %v", err)
		}
		fmt.Printf("metadata: cluster %s, %d brokers, %d topics\n", m.Cluster, len(m.Brokers), len(m.Topics))
	default:
		die("unknown command %s", os.Args[1])
	}
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
