# A French student's server: its reason phrases are French, sent in Latin-1 ("HTTP/1.1 200 Très
# bien"). Unusual, and valid: RFC 9112 allows bytes 0x80-0xFF in a reason phrase.
# Usage: web_reason_latin1.py PORT [FOLDER]
import mimetypes, os, sys, threading
from socket import *
racine = os.path.realpath(sys.argv[2] if len(sys.argv) > 2 else '.')

def repondre(conn, statut, corps, type_mime='text/html; charset=utf-8'):
    tete = f'HTTP/1.1 {statut}\r\nContent-Type: {type_mime}\r\nContent-Length: {len(corps)}\r\nConnection: close\r\n\r\n'
    conn.sendall(tete.encode('latin-1') + corps)

def traiter(conn):
    with conn:
        try:
            requete = b''
            while b'\r\n\r\n' not in requete:
                morceau = conn.recv(4096)
                if not morceau:
                    return
                requete += morceau
            chemin = requete.split()[1].decode('latin-1')
            fichier = os.path.realpath(os.path.join(racine, chemin.lstrip('/')))
            if not fichier.startswith(racine + os.sep) or not os.path.isfile(fichier):
                return repondre(conn, '404 Pas trouvé', 'Fichier introuvable'.encode())
            with open(fichier, 'rb') as f:
                repondre(conn, '200 Très bien', f.read(), mimetypes.guess_type(fichier)[0] or 'application/octet-stream')
        except (OSError, IndexError):
            pass

serveur = socket(AF_INET, SOCK_STREAM)
serveur.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
serveur.bind(('127.0.0.1', int(sys.argv[1])))
serveur.listen(16)
print('Prêt', flush=True)
while True:
    conn, _ = serveur.accept()
    threading.Thread(target=traiter, args=(conn,), daemon=True).start()
