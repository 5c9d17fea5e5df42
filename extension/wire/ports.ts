/** Well-known UDP ports of the services the stack serves or forwards itself. */
export const DNS_PORT = 53;
export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;
export const TFTP_PORT = 69;
