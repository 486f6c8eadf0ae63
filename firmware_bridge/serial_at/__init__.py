"""RAK3172 (RUI3) and RN2483 LoRa modules over AT commands on a serial port."""
