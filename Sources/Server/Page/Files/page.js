// The page: publishes the camera and microphone (or the screen) over WHIP and drives the
// server's API with one access token — minted by the server in development mode, pasted
// otherwise. Plain JavaScript, no build step.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { config: null, token: null, tokenExpires: 0, tokenFor: "", stream: null, pc: null, location: null };

function show(message) { $("status").textContent = message; }
function fail(error) { $("error").textContent = String(error && error.message ? error.message : error); }
function room() { return $("room").value.trim(); }
function identity() { return $("identity").value.trim(); }
function screenShare() { return document.querySelector("input[name=source]:checked").value === "screen"; }

async function token() {
  if (!state.config.mintsTokens) {
    const pasted = $("token").value.trim();
    if (!pasted) throw new Error("paste an access token first");
    return pasted;
  }
  const key = room() + "\n" + identity();
  if (state.token && state.tokenFor === key && state.tokenExpires - Date.now() / 1000 > 60) return state.token;
  if (!room() || !identity()) throw new Error("choose a room and your name first");
  const response = await fetch(`/page/token?room=${encodeURIComponent(room())}&identity=${encodeURIComponent(identity())}`);
  if (!response.ok) throw new Error(await response.text());
  const minted = await response.json();
  Object.assign(state, { token: minted.token, tokenExpires: minted.expiresAt, tokenFor: key });
  return state.token;
}

// One call of the API over Twirp's JSON encoding, authorized by the token like any client's.
async function api(service, method, body) {
  const response = await fetch(`/twirp/livekit.${service}/${method}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${await token()}` },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(`${method}: ${answer.msg || response.status}`);
  return answer;
}

async function preview() {
  try {
    if (state.stream) state.stream.getTracks().forEach((track) => track.stop());
    state.stream = screenShare()
      ? await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: 30 }, audio: true })
      : await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720, frameRate: 30 }, audio: true });
    $("preview").srcObject = state.stream;
    $("publish-button").disabled = false;
    show("Previewing: press Publish.");
  } catch (error) { fail(error); }
}

function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && resolve());
    setTimeout(resolve, 2000);
  });
}

async function publish() {
  try {
    $("error").textContent = "";
    const pc = new RTCPeerConnection();
    state.pc = pc;
    for (const track of state.stream.getTracks()) {
      const transceiver = pc.addTransceiver(track, { direction: "sendonly", streams: [state.stream] });
      if (track.kind === "video") {
        const parameters = transceiver.sender.getParameters();
        parameters.encodings = [{ maxBitrate: 3000000 }];
        await transceiver.sender.setParameters(parameters).catch(() => {});
      }
    }
    pc.addEventListener("connectionstatechange", () => {
      show(pc.connectionState === "connected" ? `Publishing to room ${room()} as ${identity()}.` : `Connection: ${pc.connectionState}`);
    });
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const response = await fetch(state.config.whip + (screenShare() ? "?source=screen_share" : ""), {
      method: "POST",
      headers: { "Content-Type": "application/sdp", Authorization: `Bearer ${await token()}` },
      body: pc.localDescription.sdp,
    });
    if (response.status !== 201) throw new Error(`publish refused (${response.status}): ${await response.text()}`);
    state.location = response.headers.get("Location");
    await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
    $("publish-button").disabled = true;
    $("leave-button").disabled = false;
    show("Connecting…");
  } catch (error) { fail(error); }
}

async function leave() {
  try {
    if (state.location) {
      await fetch(state.location, { method: "DELETE", headers: { Authorization: `Bearer ${await token()}` } });
    }
  } catch (error) { fail(error); }
  if (state.pc) state.pc.close();
  Object.assign(state, { pc: null, location: null });
  $("publish-button").disabled = !state.stream;
  $("leave-button").disabled = true;
  show("Not publishing.");
}

function outputs() {
  const prefix = "{room_name}/{publisher_identity}-{time}";
  switch ($("output").value) {
    case "hls": return { segment_outputs: [{ filename_prefix: prefix, playlist_name: "playlist.m3u8", segment_duration: 2 }] };
    case "rtmp": return { stream_outputs: [{ protocol: "RTMP", urls: [$("rtmp-url").value.trim()] }] };
    default: return { file_outputs: [{ file_type: "MP4", filepath: prefix }] };
  }
}

async function record(participant) {
  try {
    $("error").textContent = "";
    await api("Egress", "StartParticipantEgress", { room_name: room(), identity: participant, preset: "H264_720P_30", ...outputs() });
    await refresh();
  } catch (error) { fail(error); }
}

async function stop(egressId) {
  try {
    await api("Egress", "StopEgress", { egress_id: egressId });
    await refresh();
  } catch (error) { fail(error); }
}

function element(tag, text, attributes = {}) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

function renderParticipants(participants) {
  const list = $("participants");
  list.replaceChildren();
  if (participants.length === 0) list.append(element("li", "nobody yet", { class: "empty" }));
  for (const p of participants) {
    const item = element("li", undefined, { "data-identity": p.identity });
    const tracks = (p.tracks || []).map((t) => `${(t.source || "").toLowerCase()} ${t.mime_type || ""}${t.muted ? " (muted)" : ""}`);
    item.append(element("strong", p.identity), element("span", tracks.join(", ") || "no tracks yet", { class: "tracks" }));
    const button = element("button", "Record", { "data-record": p.identity });
    button.addEventListener("click", () => record(p.identity));
    item.append(button);
    list.append(item);
  }
}

function renderEgresses(items) {
  const body = $("egresses").querySelector("tbody");
  body.replaceChildren();
  for (const e of items) {
    const row = element("tr", undefined, { "data-egress": e.egress_id, "data-status": e.status });
    const who = (e.participant && e.participant.identity) || "";
    const files = e.file_results || [];
    const output = files.length ? files.map((f) => f.filename).join(", ")
      : (e.segment_results || []).map((s) => s.playlist_name).join(", ") || (e.stream_results || []).map((s) => s.url).join(", ");
    row.append(element("td", e.egress_id), element("td", who), element("td", (e.status || "").replace("EGRESS_", "")), element("td", output));
    const actions = element("td");
    if (["EGRESS_STARTING", "EGRESS_ACTIVE"].includes(e.status)) {
      const button = element("button", "Stop", { class: "stop", "data-stop": e.egress_id });
      button.addEventListener("click", () => stop(e.egress_id));
      actions.append(button);
    }
    if (e.status === "EGRESS_COMPLETE" && files.length) {
      const url = `/recordings/${encodeURIComponent(e.egress_id)}/0?access_token=${encodeURIComponent(state.token || "")}`;
      const play = element("a", "play", { href: "#", "data-play": e.egress_id });
      play.addEventListener("click", (event) => { event.preventDefault(); $("playback").src = url; $("playback").play().catch(() => {}); });
      actions.append(play, element("a", "download", { href: url + "&download=1" }));
    }
    row.append(actions);
    body.append(row);
  }
}

async function refresh() {
  if (!room() || (!state.config.mintsTokens && !$("token").value.trim()) || (state.config.mintsTokens && !identity())) return;
  try {
    let participants = [];
    try {
      participants = (await api("RoomService", "ListParticipants", { room: room() })).participants || [];
    } catch (error) {
      if (!/not found/.test(error.message)) throw error;  // a room nobody is in yet
    }
    renderParticipants(participants);
    renderEgresses((await api("Egress", "ListEgress", { room_name: room() })).items || []);
  } catch (error) { fail(error); }
}

async function start() {
  state.config = await (await fetch("/page/config")).json();
  $("token-field").hidden = state.config.mintsTokens;
  $("mode").textContent = state.config.mintsTokens
    ? "Development mode: the server gives this page short-lived tokens."
    : "Paste an access token signed with one of the server's API keys.";
  $("identity").value = "guest-" + Math.random().toString(36).slice(2, 7);
  $("preview-button").addEventListener("click", preview);
  $("publish-button").addEventListener("click", publish);
  $("leave-button").addEventListener("click", leave);
  $("output").addEventListener("change", () => { $("rtmp-field").hidden = $("output").value !== "rtmp"; });
  setInterval(refresh, 1000);
}

start();
