#!/usr/bin/env python3
"""Calls a running egress-server the way a LiveKit client does: stubs generated from Protos/
with grpcio-tools, then every kind of Egress call. Usage: demo-client.py HOST:PORT"""
import pathlib
import sys
import tempfile
import time

import grpc
from grpc_tools import protoc

protos = pathlib.Path(__file__).resolve().parent.parent / "Protos"
out = tempfile.mkdtemp()
protoc.main(["protoc", f"-I{protos}", f"--python_out={out}", f"--grpc_python_out={out}",
             *map(str, protos.glob("*.proto"))])
sys.path.insert(0, out)
import grpc_health_pb2 as health  # noqa: E402
import grpc_health_pb2_grpc as health_grpc  # noqa: E402
import livekit_egress_pb2 as egress  # noqa: E402
import livekit_egress_pb2_grpc as egress_grpc  # noqa: E402

channel = grpc.insecure_channel(sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:7880")
api = egress_grpc.EgressStub(channel)


def show(title, message):
    print(f"== {title}")
    print("   " + str(message).strip().replace("\n", "\n   "))


show("Health.Check", health_grpc.HealthStub(channel).Check(health.HealthCheckRequest(), timeout=5))

info = api.StartParticipantEgress(egress.ParticipantEgressRequest(
    room_name="demo-room", identity="alice", preset=egress.H264_720P_30,
    file_outputs=[egress.EncodedFileOutput(filepath="{room_name}/{publisher_identity}-{time}.mp4")]), timeout=5)
show("StartParticipantEgress", info)

track = api.StartTrackEgress(egress.TrackEgressRequest(
    room_name="demo-room", track_id="TR_demo_audio", file=egress.DirectFileOutput(filepath="tracks/")), timeout=5)
show("StartTrackEgress", f"egress_id: {track.egress_id} status: {egress.EgressStatus.Name(track.status)}")

try:
    api.StartParticipantEgress(egress.ParticipantEgressRequest(room_name="demo-room"), timeout=5)
except grpc.RpcError as error:
    show("StartParticipantEgress without identity", f"{error.code().name}: {error.details()}")

try:
    api.StartParticipantEgress(egress.ParticipantEgressRequest(
        room_name="demo-room", identity="bob", file_outputs=[egress.EncodedFileOutput(filepath="../../etc/x.mp4")]), timeout=5)
except grpc.RpcError as error:
    show("StartParticipantEgress writing outside the output directory", f"{error.code().name}: {error.details()}")

stopped = api.StopEgress(egress.StopEgressRequest(egress_id=info.egress_id), timeout=5)
show("StopEgress", f"egress_id: {stopped.egress_id} status: {egress.EgressStatus.Name(stopped.status)}")
time.sleep(0.2)

listing = api.ListEgress(egress.ListEgressRequest(room_name="demo-room"), timeout=5)
show("ListEgress(room_name=demo-room), newest first",
     "\n".join(f"{i.egress_id} {egress.EgressStatus.Name(i.status)} ({i.WhichOneof('request')})" for i in listing.items))
print("   (no media source is connected yet, so an egress stopped before media arrived ends ABORTED, as LiveKit's does)")
