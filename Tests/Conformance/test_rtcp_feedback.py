"""RTCP feedback to plain RTP senders, read off the wire by a sender of raw datagrams (what an
SFU's forwarder or GStreamer's rtpbin would get): a sender that sends reports from its socket
gets receiver reports every second, a generic NACK naming the packets it lost, and a PLI when a
recording of its room starts; a sender that sends no reports is not listening and gets nothing."""
import socket
import struct
import time

from media import Publisher
from test_recording import participant_egress


def rtp(ssrc, sequence, payload_type=96):
    return struct.pack("!BBHII", 0x80, payload_type, sequence, sequence * 3000, ssrc) + b"\x10" + b"\x00" * 40


def sender_report(ssrc):
    now = time.time() + 2_208_988_800
    return struct.pack("!BBHIIIIII", 0x80, 200, 6, ssrc, int(now), int((now % 1) * 2**32), 0, 0, 0)


def packets(data):
    """The (type, fmt, bytes) of each packet of a compound RTCP datagram."""
    out, offset = [], 0
    while offset + 4 <= len(data):
        length = (struct.unpack_from("!H", data, offset + 2)[0] + 1) * 4
        out.append((data[offset + 1], data[offset] & 0x1F, data[offset:offset + length]))
        offset += length
    return out


def receive_all(sock, seconds):
    found, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            found += packets(sock.recvfrom(2048)[0])
        except socket.timeout:
            break
    return found


def nacked(feedback):
    """Sequence numbers a generic NACK asks for."""
    sequences = []
    for offset in range(12, len(feedback), 4):
        pid, blp = struct.unpack_from("!HH", feedback, offset)
        sequences += [pid] + [(pid + bit + 1) & 0xFFFF for bit in range(16) if blp >> bit & 1]
    return sequences


def test_a_listening_sender_gets_reports_nacks_and_a_pli_and_a_silent_one_nothing(server, stubs):
    egress = stubs.egress_grpc.EgressStub(server.channel())
    alice = Publisher(server, stubs, "fb-room", "alice")
    video = alice.publish("video", codec="VP8")
    quiet = Publisher(server, stubs, "fb-quiet", "bob").publish("video", codec="VP8")
    listening, silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM), socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    target = ("127.0.0.1", server.rtp_port)
    try:
        listening.sendto(sender_report(video.ssrc), target)
        for sequence in list(range(0, 10)) + list(range(13, 30)):
            listening.sendto(rtp(video.ssrc, sequence), target)
            silent.sendto(rtp(quiet.ssrc, sequence), target)
            time.sleep(0.005)
        got = receive_all(listening, 1.5)
        nacks = [p for kind, fmt, p in got if (kind, fmt) == (205, 1)]
        assert nacks and struct.unpack_from("!I", nacks[0], 8)[0] == video.ssrc
        assert set(nacked(nacks[0])) == {10, 11, 12}, nacked(nacks[0])
        reports = [p for kind, _, p in got if kind == 201]
        assert reports, got
        [(block_ssrc, highest)] = [struct.unpack_from("!I4xI", reports[0], 8)]
        assert block_ssrc == video.ssrc and highest & 0xFFFF == 29
        # A recording of the room starts: a key frame is asked for.
        participant_egress(egress, stubs, "fb-room", "alice", "fb")
        plis = [p for kind, fmt, p in receive_all(listening, 2) if (kind, fmt) == (206, 1)]
        assert plis and struct.unpack_from("!I", plis[0], 8)[0] == video.ssrc
        silent.settimeout(0.5)
        assert receive_all(silent, 1.5) == []
    finally:
        listening.close()
        silent.close()
