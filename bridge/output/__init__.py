"""Poses → datagrams (OSC packing, VMC, VRChat) and the UDP transport that sends them."""
