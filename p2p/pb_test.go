package p2p

import pb "github.com/libp2p/go-libp2p-pubsub/pb"

func pbMessage(topic string, data []byte) *pb.Message { return &pb.Message{Topic: &topic, Data: data} }
