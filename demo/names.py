"""Name, street, town and business lists the demo seed draws its fictional customers from."""
from __future__ import annotations

FIRST_NAMES_FEMALE = (
    "Camille", "Léa", "Manon", "Chloé", "Emma", "Inès", "Sarah", "Julie", "Claire", "Anne", "Sophie", "Lucie",
    "Marie", "Pauline", "Élodie", "Nathalie", "Isabelle", "Céline", "Margaux", "Louise", "Jeanne", "Agathe",
    "Hélène", "Aurélie", "Mathilde", "Zoé", "Nina", "Amandine", "Laura", "Océane",
)
FIRST_NAMES_MALE = (
    "Thomas", "Nicolas", "Julien", "Maxime", "Antoine", "Hugo", "Lucas", "Louis", "Pierre", "Alexandre", "Paul",
    "Mathieu", "Romain", "Vincent", "François", "Olivier", "Sébastien", "Benoît", "Arthur", "Gabriel", "Théo",
    "Baptiste", "Quentin", "Yannick", "Erwan", "Damien", "Karim", "Mehdi", "Jérôme", "Guillaume",
)
LAST_NAMES = (
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Simon",
    "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier", "Morel",
    "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Martinez", "Legrand", "Garnier",
    "Faure", "Rousseau", "Blanc", "Guérin", "Muller", "Henry", "Roussel", "Nicolas", "Perrin", "Le Goff",
    "Le Gall", "Guillou", "Kerbrat", "Morvan", "Tanguy", "Chevalier", "Gauthier", "Masson", "Marchand",
)
STREETS = (
    "rue des Lilas", "avenue de la République", "rue Victor Hugo", "boulevard Pasteur", "rue de la Paix",
    "chemin des Vignes", "allée des Tilleuls", "rue du Port", "impasse des Mouettes", "rue Jean Jaurès",
    "place du Marché", "rue de la Gare", "avenue des Pins", "rue Émile Zola", "quai des Chartrons",
    "rue du Moulin", "route de la Côte", "rue des Écoles", "avenue Foch", "rue Pierre Curie",
    "rue des Acacias", "cours Lafayette", "rue de la Fontaine", "boulevard des Belges", "rue Saint-Exupéry",
)
SECOND_LINES = ("Appartement 12", "Bâtiment B", "Résidence Les Pins", "2e étage", "Escalier C", "Porte 4")

# (postcode, town): a coastal water network and an urban multi-energy one.
AQUAVILLE_TOWNS = (
    ("44500", "La Baule-Escoublac"), ("44600", "Saint-Nazaire"), ("44350", "Guérande"), ("44380", "Pornichet"),
    ("44490", "Le Croisic"), ("44420", "La Turballe"), ("44740", "Batz-sur-Mer"),
)
LUMEN_TOWNS = (
    ("69001", "Lyon"), ("69003", "Lyon"), ("69006", "Lyon"), ("69007", "Lyon"), ("69100", "Villeurbanne"),
    ("69500", "Bron"), ("69300", "Caluire-et-Cuire"), ("69130", "Écully"),
)

BUSINESSES = (
    "Boulangerie Marchand", "Garage du Centre", "Cabinet Dr Roux", "Hôtel de la Plage", "SCI Les Tilleuls",
    "Pharmacie du Port", "Restaurant Le Goéland", "Atelier Bois & Co", "Crèche Les Petits Pas",
    "Laverie Express", "Fleurs de Saison", "Librairie des Quais",
)

EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
