/** Where Socket.IO is served (DESIGN.md section 6). */
export const SOCKET_IO_PATH = '/socket.io/';
